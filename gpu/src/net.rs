//! The character-level intent+slot network: embedding → two 1-D convolutions
//! (the second dilated, with a residual sum) → an intent head over max+mean
//! pooling and a per-character BIO tag head.
//!
//! Padded positions are zeroed before every convolution, so a sentence gets
//! the same outputs whatever it is batched with.

use tch::nn::{self, ConvConfig};
use tch::{Kind, TchError, Tensor};

use crate::manifest::Hyper;
use crate::vocab::PAD;

/// The weights of one network, living in a `VarStore`.
#[derive(Debug)]
pub(crate) struct Net {
    embed: Tensor,
    conv1: (Tensor, Tensor),
    conv2: (Tensor, Tensor),
    intent: (Tensor, Tensor),
    tag: (Tensor, Tensor),
    hyper: Hyper,
}

/// What one forward pass returns.
pub(crate) struct Logits {
    /// `[batch, intents]`.
    pub intent: Tensor,
    /// `[batch, len, tags]`.
    pub tags: Tensor,
}

fn bias(t: Option<Tensor>) -> Result<Tensor, TchError> {
    t.ok_or_else(|| TchError::Kind("layer built without bias".to_string()))
}

impl Net {
    /// Creates the variables under `root`: randomly initialised for training
    /// (`random`), zeros otherwise (weights about to be loaded must not draw
    /// from libtorch's global RNG while a training run beside them relies on it).
    pub(crate) fn new(
        root: &nn::Path,
        vocab: i64,
        hyper: &Hyper,
        (intents, tags): (i64, i64),
        random: bool,
    ) -> Result<Self, TchError> {
        let (e, c, k, d) = (hyper.embed_dim, hyper.channels, hyper.kernel, hyper.dilation);
        let zero = nn::Init::Const(0.0);
        let conv = |padding, dilation| {
            let base = ConvConfig { padding, dilation, ..Default::default() };
            if random {
                base
            } else {
                ConvConfig { ws_init: zero, bs_init: zero, ..base }
            }
        };
        let linear = if random {
            nn::LinearConfig::default()
        } else {
            nn::LinearConfig { ws_init: zero, bs_init: Some(zero), bias: true }
        };
        let embed_config = if random {
            nn::EmbeddingConfig::default()
        } else {
            nn::EmbeddingConfig { ws_init: zero, ..Default::default() }
        };
        let embed = nn::embedding(root / "embed", vocab, e, embed_config).ws;
        let conv1 = nn::conv1d(root / "conv1", e, c, k, conv(k / 2, 1));
        let conv2 = nn::conv1d(root / "conv2", c, c, 3, conv(d, d));
        let intent = nn::linear(root / "intent", 2 * c, intents, linear);
        let tag = nn::linear(root / "tag", c, tags, linear);
        Ok(Self {
            embed,
            conv1: (conv1.ws, bias(conv1.bs)?),
            conv2: (conv2.ws, bias(conv2.bs)?),
            intent: (intent.ws, bias(intent.bs)?),
            tag: (tag.ws, bias(tag.bs)?),
            hyper: hyper.clone(),
        })
    }

    /// One pass over `tokens` (`[batch, len]`, int64, [`PAD`] after each sentence).
    pub(crate) fn forward(&self, tokens: &Tensor, train: bool) -> Result<Logits, TchError> {
        let h = &self.hyper;
        let p = if train { h.dropout } else { 0.0 };
        let mask = tokens.f_ne(PAD)?.f_to_kind(Kind::Float)?; // [B, L]
        let mask_c = mask.f_unsqueeze(1)?; // [B, 1, L]
        let x = Tensor::f_embedding(&self.embed, tokens, -1, false, false)?.f_dropout(p, train)?;
        let x = x.f_transpose(1, 2)?.f_mul(&mask_c)?; // [B, E, L]
        let h1 = x.f_conv1d(&self.conv1.0, Some(&self.conv1.1), [1], [h.kernel / 2], [1], 1)?.f_relu()?;
        let h1 = h1.f_mul(&mask_c)?;
        let h2 =
            h1.f_dropout(p, train)?.f_conv1d(&self.conv2.0, Some(&self.conv2.1), [1], [h.dilation], [h.dilation], 1)?;
        let hidden = h2.f_relu()?.f_add(&h1)?.f_mul(&mask_c)?; // [B, C, L], >= 0
                                                               // Values are >= 0 and padding is 0, so a plain max is the masked max.
        let max_pool = hidden.f_amax([2], false)?;
        let lens = mask.f_sum_dim_intlist([1i64].as_slice(), true, Kind::Float)?.f_clamp_min(1.0)?;
        let mean_pool = hidden.f_sum_dim_intlist([2i64].as_slice(), false, Kind::Float)?.f_div(&lens)?;
        let pooled = Tensor::f_cat(&[max_pool, mean_pool], 1)?.f_dropout(p, train)?;
        let intent = pooled.f_linear(&self.intent.0, Some(&self.intent.1))?;
        let tags = hidden.f_transpose(1, 2)?.f_dropout(p, train)?.f_linear(&self.tag.0, Some(&self.tag.1))?;
        Ok(Logits { intent, tags })
    }
}

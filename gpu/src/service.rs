//! The NLU as a node serves it: the model pool, the operator's lexicon
//! (hot-reloaded from its file) and the pure merge of `autoglm_nlu::understand`.
//!
//! Without a loaded model the service answers from the rules and the time
//! parser alone (lower confidence); a full queue is an `Overloaded` error the
//! caller shows as 503, never a silent fallback that hides overload.

use std::path::{Path, PathBuf};
use std::sync::{Arc, RwLock};
use std::time::{Duration, SystemTime};

use autoglm_nlu::lexicon::Lexicon;
use autoglm_nlu::model::{ModelError, ModelOutput};
use autoglm_nlu::understand::understand;
use autoglm_nlu::{Lang, NluResult};
use chrono::{DateTime, FixedOffset, Utc};

use crate::pool::ModelPool;

/// Longest text the NLU takes, in characters.
pub const MAX_TEXT_CHARS: usize = 500;

/// One utterance of [`NluService::parse_batch`]: text, language hint, reference time.
pub type BatchItem = (String, Option<Lang>, Option<DateTime<FixedOffset>>);

/// Why the NLU could not answer.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum NluError {
    /// Empty or too long text.
    #[error("{0}")]
    InvalidText(String),
    /// The model pool is full; try again later.
    #[error(transparent)]
    Overloaded(ModelError),
}

/// The node's NLU; cheap to clone.
#[derive(Clone)]
pub struct NluService {
    inner: Arc<Inner>,
}

struct Inner {
    pool: ModelPool,
    model: String,
    offset: FixedOffset,
    lexicon: RwLock<Arc<Lexicon>>,
}

impl NluService {
    /// A service over `pool` (its default model is used when loaded), with
    /// `lexicon`, resolving times at `offset` when a request gives no reference.
    pub fn new(pool: ModelPool, lexicon: Lexicon, offset: FixedOffset) -> Self {
        let model = pool.config().default_model.clone();
        Self { inner: Arc::new(Inner { pool, model, offset, lexicon: RwLock::new(Arc::new(lexicon)) }) }
    }

    /// The model pool.
    pub fn pool(&self) -> &ModelPool {
        &self.inner.pool
    }

    /// The lexicon in use now.
    pub fn lexicon(&self) -> Arc<Lexicon> {
        match self.inner.lexicon.read() {
            Ok(guard) => guard.clone(),
            Err(poisoned) => poisoned.into_inner().clone(),
        }
    }

    /// Replaces the lexicon; requests already running keep the one they started with.
    pub fn set_lexicon(&self, lexicon: Lexicon) {
        let mut guard = match self.inner.lexicon.write() {
            Ok(guard) => guard,
            Err(poisoned) => poisoned.into_inner(),
        };
        *guard = Arc::new(lexicon);
    }

    /// "Now" in the customers' time zone.
    pub fn now(&self) -> DateTime<FixedOffset> {
        Utc::now().with_timezone(&self.inner.offset)
    }

    /// Understands one utterance.
    pub async fn parse(
        &self,
        text: &str,
        lang: Option<Lang>,
        reference: Option<DateTime<FixedOffset>>,
    ) -> Result<NluResult, NluError> {
        check_text(text)?;
        // The model reads the folded text (half width, simplified), as the rules do.
        let folded = autoglm_nlu::normalize::fold(text);
        let model = self.model_output(self.inner.pool.predict_on(&self.inner.model, &folded).await)?;
        let reference = reference.unwrap_or_else(|| self.now());
        Ok(understand(text, lang, reference, &self.lexicon(), model.as_ref()))
    }

    /// Understands many utterances, the model running them as one batch.
    /// Each item is `(text, lang, reference)`; a bad text fails only its own item.
    pub async fn parse_batch(&self, items: &[BatchItem]) -> Result<Vec<Result<NluResult, NluError>>, NluError> {
        let folded: Vec<String> =
            items.iter().filter(|i| check_text(&i.0).is_ok()).map(|i| autoglm_nlu::normalize::fold(&i.0)).collect();
        let valid: Vec<&str> = folded.iter().map(String::as_str).collect();
        let outputs = match self.inner.pool.predict_batch_on(&self.inner.model, &valid).await {
            Ok(outputs) => outputs.into_iter().map(Some).collect(),
            Err(e) => {
                self.model_output(Err(e))?;
                vec![None; valid.len()]
            }
        };
        let lexicon = self.lexicon();
        let mut outputs = outputs.into_iter();
        Ok(items
            .iter()
            .map(|(text, lang, reference)| {
                check_text(text)?;
                let model = outputs.next().flatten();
                let reference = reference.unwrap_or_else(|| self.now());
                Ok(understand(text, *lang, reference, &lexicon, model.as_ref()))
            })
            .collect())
    }

    /// The model's answer, `None` to go on with rules only, or the overload error.
    fn model_output(&self, result: Result<ModelOutput, ModelError>) -> Result<Option<ModelOutput>, NluError> {
        match result {
            Ok(output) => Ok(Some(output)),
            Err(e @ ModelError::Overloaded(_)) => Err(NluError::Overloaded(e)),
            Err(ModelError::NotLoaded(_)) => Ok(None),
            Err(e) => {
                tracing::warn!(error = %e, "model failed; answering from rules");
                Ok(None)
            }
        }
    }

    /// Loads the default model from `dir` when a model is there; says why not otherwise.
    pub async fn load_default_model(&self, dir: &Path) -> Result<(), String> {
        if !dir.join(crate::manifest::MANIFEST_FILE).exists() {
            return Err(format!(
                "no model in {} (train one with `autoglm train --out {}`); answering from rules only",
                dir.display(),
                dir.display()
            ));
        }
        self.inner.pool.load(&self.inner.model, dir).await.map(|_| ()).map_err(|e| e.to_string())
    }

    /// Re-reads the lexicon file every `every` while it changes; a file that
    /// does not parse is logged and the lexicon in use is kept. Stops when the
    /// service is dropped.
    pub fn watch_lexicon(&self, path: PathBuf, every: Duration) -> tokio::task::JoinHandle<()> {
        let weak = Arc::downgrade(&self.inner);
        let mut watch = LexiconWatch::new(path);
        tokio::spawn(async move {
            let mut ticker = tokio::time::interval(every);
            ticker.tick().await;
            loop {
                ticker.tick().await;
                let Some(inner) = weak.upgrade() else { return };
                let service = NluService { inner };
                match watch.poll(&service) {
                    Ok(Some(entries)) => {
                        tracing::info!(path = %watch.path.display(), entries, "lexicon reloaded")
                    }
                    Ok(None) => {}
                    Err(e) => tracing::error!(error = %e, "lexicon not reloaded; keeping the one in use"),
                }
            }
        })
    }
}

/// One lexicon file and the modification time last read.
#[derive(Debug)]
pub struct LexiconWatch {
    path: PathBuf,
    seen: Option<SystemTime>,
}

impl LexiconWatch {
    /// Watches `path`, taking its current version as already loaded.
    pub fn new(path: PathBuf) -> Self {
        let seen = modified(&path);
        Self { path, seen }
    }

    /// When the file changed since the last poll, reads it and hands it to
    /// `service`: `Ok(Some(entries))` after a reload, `Ok(None)` when nothing
    /// changed, `Err` (and the service keeps its lexicon) when it does not parse.
    pub fn poll(&mut self, service: &NluService) -> Result<Option<usize>, String> {
        let now = modified(&self.path);
        if now == self.seen {
            return Ok(None);
        }
        self.seen = now;
        let lexicon = read_lexicon(&self.path)?;
        let entries = lexicon.len();
        service.set_lexicon(lexicon);
        Ok(Some(entries))
    }
}

/// Reads and checks a lexicon file.
pub fn read_lexicon(path: &Path) -> Result<Lexicon, String> {
    let text = std::fs::read_to_string(path).map_err(|e| format!("{}: {e}", path.display()))?;
    Lexicon::from_toml_str(&text).map_err(|e| format!("{}: {e}", path.display()))
}

fn modified(path: &Path) -> Option<SystemTime> {
    std::fs::metadata(path).and_then(|m| m.modified()).ok()
}

fn check_text(text: &str) -> Result<(), NluError> {
    if text.trim().is_empty() {
        return Err(NluError::InvalidText("text must not be empty".into()));
    }
    let n = text.chars().count();
    if n > MAX_TEXT_CHARS {
        return Err(NluError::InvalidText(format!("text has {n} characters; at most {MAX_TEXT_CHARS} are understood")));
    }
    Ok(())
}

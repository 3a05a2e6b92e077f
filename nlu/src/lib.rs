//! Natural-language understanding: normalizer, time parser, lexicon and dialogue policy (pure). Not built yet: it comes with the NLU milestone.

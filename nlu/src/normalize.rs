//! Text normalizer: full/half width, Chinese numerals, traditional → simplified, whitespace. (Being written.)

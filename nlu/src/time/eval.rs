//! Grading the time parser on the Recognizers-Text cases of `shared/eval`. (Being written.)

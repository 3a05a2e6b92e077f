//! Services, rooms, synonyms and colloquialisms; loadable from a file an operator edits. (Being written.)

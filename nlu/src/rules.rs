//! Rule extractor: services, rooms, order ids, ratings, phones, addresses from the lexicon and patterns. (Being written.)

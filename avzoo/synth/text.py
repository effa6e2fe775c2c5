"""Sentences for the synthetic corpus: neutral, emotion-bearing and sarcastic.

Sentences come from templates whose slots are filled from word lists and Faker's names and
places, so the space is large (millions of distinct sentences) and each one can be assigned to
a split by a stable hash of its text. Train, validation and test therefore never share a
sentence, whatever seed or process produced them.

``emotion`` is the feeling the speaker should convey (what the voice and face carry);
``text_emotion`` is what the words alone suggest. They differ only for sarcasm, where cheerful
words are said in a negative tone (or gloomy words with a smile), the case that tells a
text-only emotion model from a text-and-audio one.
"""

from __future__ import annotations

import hashlib
import random
import re
from dataclasses import dataclass

from faker import Faker

from avzoo.emotions import RAVDESS_EMOTIONS, to_ravdess

SPLITS: tuple[str, ...] = ("train", "validation", "test")
KINDS: tuple[str, ...] = ("neutral", "emotional", "sarcastic")

#: Held out of every split: the two RAVDESS statements, so that evaluation on RAVDESS never
#: meets a training sentence.
EXCLUDED = ("kids are talking by the door", "dogs are sitting by the door")


@dataclass(frozen=True)
class Sentence:
    text: str
    emotion: str
    text_emotion: str
    kind: str
    split: str


def normalise(text: str) -> str:
    """Lower-case, collapse spaces and drop punctuation: the identity used for split hashing."""
    return re.sub(r"\s+", " ", re.sub(r"[^a-z0-9' ]", " ", text.lower())).strip()


def sentence_split(text: str, ratios: tuple[float, float, float] = (0.8, 0.1, 0.1)) -> str:
    """The split a sentence belongs to, from a stable hash of its normalised text."""
    if len(ratios) != 3 or min(ratios) < 0 or abs(sum(ratios) - 1) > 1e-6:
        raise ValueError(f"ratios must be three non-negative numbers summing to 1, got {ratios}")
    h = int.from_bytes(hashlib.blake2b(normalise(text).encode(), digest_size=8).digest(), "big") / 2**64
    if h < ratios[0]:
        return "train"
    return "validation" if h < ratios[0] + ratios[1] else "test"


_WORDS: dict[str, list[str]] = {
    "object": [
        "umbrella",
        "blue notebook",
        "kettle",
        "parcel",
        "ladder",
        "guitar",
        "bicycle",
        "map",
        "window",
        "lamp",
        "wallet",
        "jacket",
        "basket",
        "mirror",
        "piano",
        "suitcase",
        "camera",
        "painting",
        "letter",
        "printer",
        "garden hose",
        "telescope",
        "backpack",
        "microwave",
        "carpet",
        "blanket",
        "clock",
        "vase",
        "keyboard",
        "sofa",
        "tent",
        "compass",
        "bottle of milk",
        "red scarf",
        "coffee machine",
        "chess board",
        "plant pot",
        "fishing rod",
        "pair of boots",
        "toolbox",
        "radio",
        "violin",
    ],
    "place": [
        "station",
        "library",
        "harbour",
        "bakery",
        "market",
        "museum",
        "office",
        "kitchen",
        "garage",
        "park",
        "school",
        "bridge",
        "hospital",
        "cinema",
        "airport",
        "beach",
        "village hall",
        "post office",
        "farm",
        "laboratory",
        "hotel lobby",
        "car park",
        "swimming pool",
        "corner shop",
        "train platform",
        "back garden",
        "attic",
        "cellar",
        "stadium",
    ],
    "time": [
        "on Monday",
        "on Tuesday",
        "on Wednesday",
        "on Thursday",
        "on Friday",
        "on Saturday",
        "on Sunday",
        "this morning",
        "tonight",
        "tomorrow",
        "next week",
        "at noon",
        "at half past nine",
        "after lunch",
        "before dawn",
        "in the evening",
        "at the weekend",
        "next spring",
        "in an hour",
        "last night",
        "yesterday afternoon",
    ],
    "verb_past": [
        "moved",
        "fixed",
        "painted",
        "found",
        "borrowed",
        "cleaned",
        "sold",
        "bought",
        "opened",
        "wrapped",
        "checked",
        "carried",
        "measured",
        "packed",
        "dropped",
        "returned",
        "ordered",
        "replaced",
        "lost",
        "repaired",
        "delivered",
    ],
    "activity": [
        "read the report",
        "bake some bread",
        "walk the dog",
        "visit my brother",
        "finish the puzzle",
        "water the plants",
        "learn the piano",
        "paint the fence",
        "call the plumber",
        "book the tickets",
        "write a letter",
        "climb the hill",
        "cook dinner",
        "plan the trip",
        "sort the photographs",
        "mend the roof",
        "practise the speech",
        "clean the windows",
        "watch the match",
        "fix the bike",
    ],
    "adj_good": [
        "wonderful",
        "brilliant",
        "lovely",
        "fantastic",
        "perfect",
        "amazing",
        "delightful",
        "marvellous",
        "excellent",
        "splendid",
        "terrific",
        "beautiful",
    ],
    "adj_bad": [
        "awful",
        "terrible",
        "dreadful",
        "horrible",
        "miserable",
        "hopeless",
        "disastrous",
        "pathetic",
        "useless",
        "ghastly",
    ],
    "number": [
        "two",
        "three",
        "four",
        "five",
        "six",
        "seven",
        "eight",
        "nine",
        "ten",
        "twelve",
        "fifteen",
        "twenty",
        "forty",
        "a hundred",
    ],
    "person": [
        "my neighbour",
        "the teacher",
        "our manager",
        "the doctor",
        "my sister",
        "the driver",
        "your cousin",
        "the baker",
        "his uncle",
        "the pilot",
        "our landlord",
        "the new student",
        "my grandmother",
        "the mechanic",
    ],
    "food": [
        "soup",
        "pasta",
        "apple pie",
        "curry",
        "sandwich",
        "salad",
        "pancakes",
        "fish",
        "cheese",
        "chocolate cake",
        "rice",
        "porridge",
        "bread",
        "strawberries",
    ],
}

_OPENERS = ["{name}, ", "Listen, ", "Honestly, ", "You know, ", "Well, ", "Look, ", "So, ", "{name}, "]

_NEUTRAL = [
    "{name} {verb_past} the {object} {time}.",
    "The {object} is in the {place}.",
    "We need to {activity} {time}.",
    "{person} said the {place} opens {time}.",
    "Please put the {object} next to the {object2}.",
    "There are {number} chairs in the {place}.",
    "{name} lives near the {place} in {city}.",
    "Did you {activity} {time}?",
    "The train to {city} leaves {time}.",
    "I think {person} {verb_past} the {object}.",
    "Could you take the {object} to the {place}?",
    "{name} and {name2} met at the {place} {time}.",
    "The meeting moved to the {place} on {street}.",
    "We have {number} boxes of {food} left.",
    "Turn left at the {place} on {street} and keep walking.",
    "The {object} belongs to {person}.",
    "My plan is to {activity} and then {activity2}.",
    "{person} will {activity} {time}.",
    "The report about the {place} is on my desk.",
    "Write down the number {number} before {name} forgets.",
]

_EMOTIONAL: dict[str, list[str]] = {
    "neutral": _NEUTRAL,
    "calm": [
        "Take your time, the {object} can wait, we will sort it out {time}.",
        "It is quiet in the {place} and I feel at ease.",
        "Everything is fine, we can {activity} {time}.",
        "Breathe slowly, {name}, the {place} is not going anywhere.",
        "The evening at the {place} was peaceful and still.",
        "Let us sit by the {place} and rest for a while.",
        "No need to worry, {person} has it under control.",
        "I am relaxed now that the {object} is back in the {place}.",
    ],
    "happy": [
        "I am so happy that {name} {verb_past} the {object}!",
        "What a {adj_good} day at the {place}!",
        "We won the {object}! I can't believe {person} let us win!",
        "This {food} is {adj_good}, thank you so much!",
        "{name} is coming to {city} {time}, I am thrilled!",
        "I love it, the {object} is absolutely {adj_good}!",
        "Great news, {person} got the job in {city}!",
        "We finally get to {activity} {time}, hooray!",
        "You made my day, {name}, this is {adj_good}.",
    ],
    "sad": [
        "I miss {name} so much since they left {city}.",
        "Nobody came to the {place}, and I waited for hours.",
        "The {object} was my father's, and now it is gone.",
        "I really hoped we could {activity}, but it is too late.",
        "{person} is not coming back, is she?",
        "It has been a {adj_bad} year and I feel so tired.",
        "I lost the {object} and I will never find it again.",
        "Everyone forgot my birthday {time}, even {name}.",
    ],
    "angry": [
        "How dare you take my {object} without asking!",
        "I told you {number} times to {activity}!",
        "This is {adj_bad}, {person} lied to me again!",
        "Get out of the {place} right now, {name}!",
        "Who broke the {object}? Answer me, {name}!",
        "I am sick of waiting at the {place} for {person}!",
        "Stop it, {name}, I have had enough of the {object}!",
        "You promised to {activity} {time}, and you did not!",
    ],
    "fearful": [
        "Did you hear that noise in the {place}?",
        "Please don't leave me alone in the {cellar}, {name}.",
        "Someone is following us, {name}, walk faster!",
        "I am scared the {object} will fall on us.",
        "What if {person} never finds the way back from {city}?",
        "The lights went out in the {place} and I can't see anything.",
        "I think there is somebody behind the {object}.",
        "Help, the water in the {place} is rising!",
    ],
    "disgust": [
        "Ugh, this {food} smells rotten.",
        "That is revolting, there is mould on the {object}.",
        "I can't believe {person} ate that {food} off the floor.",
        "The {place} was filthy and it stank.",
        "Yuck, something slimy is inside the {object}.",
        "How gross, {name} left the {food} out for a week.",
        "That {food} is {adj_bad}, I feel sick just looking at it.",
    ],
    "surprised": [
        "Wow, you {verb_past} the {object} already?",
        "No way, {name} is in {city}?",
        "I had no idea the {place} was this big!",
        "Really? {person} can {activity}?",
        "What? The {object} was here all along?",
        "Oh, I didn't expect to see you at the {place}!",
        "{number} people came? That is incredible!",
        "You are back from {city} already? That was quick!",
    ],
}

#: Sarcasm: cheerful words in a negative voice. Keyed by the tone the voice carries.
_SARCASTIC: dict[str, tuple[str, list[str]]] = {
    "angry": (
        "happy",
        [
            "Oh {adj_good}, another meeting at the {place} {time}.",
            "Great, just great, the {object} is broken again {time}.",
            "Thanks a lot, {name}, that was really helpful.",
            "Perfect, now we get to {activity} twice.",
            "Wonderful, {person} forgot the {object} again.",
        ],
    ),
    "disgust": (
        "happy",
        [
            "Oh lovely, cold {food} for dinner again.",
            "Yes, what a {adj_good} smell in the {place}.",
            "Delicious, I just adore soggy {food}.",
        ],
    ),
    "sad": (
        "happy",
        [
            "Sure, I am having the time of my life at the {place}.",
            "Oh yes, this is the best birthday ever, {name}.",
            "Fantastic, everybody left the {place} before I arrived.",
        ],
    ),
    "happy": (
        "sad",
        [
            "Oh no, I have to take a whole week off to {activity}.",
            "What a {adj_bad} problem, we won too much money.",
            "How terrible, {name} bought us {food} again.",
        ],
    ),
}


class TextGenerator:
    """Draws sentences deterministically from a seed.

    >>> gen = TextGenerator(seed=0)
    >>> s = gen.sample("happy", split="train")
    >>> s.split, s.emotion
    ('train', 'happy')
    """

    def __init__(self, seed: int = 0, ratios: tuple[float, float, float] = (0.8, 0.1, 0.1)):
        self.faker = Faker("en_GB")
        self.ratios = ratios
        self.reseed(seed)

    def reseed(self, seed: int) -> None:
        """Restart the stream from ``seed`` (cheaper than building a new generator)."""
        self.rng = random.Random(seed)
        self.faker.seed_instance(seed)

    def _fill(self, template: str) -> str:
        slots = {k: self.rng.choice(v) for k, v in _WORDS.items()}
        slots.update(
            object2=self.rng.choice(_WORDS["object"]),
            activity2=self.rng.choice(_WORDS["activity"]),
            name=self.faker.first_name(),
            name2=self.faker.first_name(),
            city=self.faker.city(),
            street=self.faker.street_name(),
            cellar=self.rng.choice(["cellar", "dark hallway", "basement", "old barn", "forest"]),
        )
        text = template.format(**slots)
        # A vocative or discourse opener multiplies the variety of short templates; it leaves
        # the sentence's emotion unchanged.
        if self.rng.random() < 0.5:
            opener = self.rng.choice(_OPENERS).format(name=self.faker.first_name())
            keep_case = text.startswith(("I ", "I'")) or text.split()[0] in (slots["name"], slots["city"])
            text = opener + (text if keep_case else text[0].lower() + text[1:])
        return text[0].upper() + text[1:]

    def _draw(self, emotion: str, kind: str) -> Sentence:
        if kind == "sarcastic":
            if emotion not in _SARCASTIC:
                raise ValueError(f"no sarcastic templates for tone {emotion!r}; have {sorted(_SARCASTIC)}")
            text_emotion, templates = _SARCASTIC[emotion]
        else:
            text_emotion, templates = emotion, _EMOTIONAL[emotion]
        text = self._fill(self.rng.choice(templates))
        return Sentence(text, emotion, text_emotion, kind, sentence_split(text, self.ratios))

    def sample(self, emotion: str = "neutral", split: str | None = None, kind: str | None = None) -> Sentence:
        """One sentence for ``emotion`` (RAVDESS or MELD name), optionally from a given split.

        ``kind`` defaults to ``"neutral"`` for neutral and ``"emotional"`` otherwise.
        """
        emotion = to_ravdess(emotion)
        kind = kind or ("neutral" if emotion == "neutral" else "emotional")
        if kind not in KINDS:
            raise ValueError(f"kind must be one of {KINDS}, got {kind!r}")
        if split is not None and split not in SPLITS:
            raise ValueError(f"split must be one of {SPLITS}, got {split!r}")
        for _ in range(10_000):
            s = self._draw(emotion, kind)
            if normalise(s.text) in EXCLUDED:
                continue
            if split is None or s.split == split:
                return s
        raise RuntimeError(f"could not draw a {split} sentence for {emotion}/{kind}; check the ratios")

    def batch(
        self,
        n: int,
        split: str | None = None,
        emotions: tuple[str, ...] = RAVDESS_EMOTIONS,
        sarcasm_rate: float = 0.0,
    ) -> list[Sentence]:
        """``n`` sentences cycling through ``emotions``, with a share of sarcastic ones."""
        out = []
        for i in range(n):
            emotion = to_ravdess(emotions[i % len(emotions)])
            sarcastic = emotion in _SARCASTIC and self.rng.random() < sarcasm_rate
            out.append(self.sample(emotion, split, "sarcastic" if sarcastic else None))
        return out


SARCASM_TONES: tuple[str, ...] = tuple(_SARCASTIC)

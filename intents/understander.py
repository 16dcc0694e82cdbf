"""The default :class:`~intents.base.Understander`: classifier, KB, entities and mood together.

The engine asks one question per message; this class answers it by combining four small
parts that each do one job, and applies the domain's rules (which intent is out of
scope, which FAQ entry answers which intent).
"""

from __future__ import annotations

from intents.classifier import IntentClassifier
from intents.domain import Domain
from intents.emotion import EmotionReader
from intents.entities import EntityExtractor
from intents.knowledge import KnowledgeBase
from intents.types import Emotion, IntentInfo, KnowledgeAnswer, Understanding


class DomainUnderstander:
    """Understands customer messages for one domain."""

    def __init__(
        self,
        domain: Domain,
        classifier: IntentClassifier,
        knowledge: KnowledgeBase | None = None,
        emotion: EmotionReader | None = None,
    ) -> None:
        self.domain = domain
        self.classifier = classifier
        self.knowledge = knowledge or KnowledgeBase(list(domain.faq.values()))
        texts, _ = domain.training_data()
        words = {word for text in texts for word in text.lower().split() if word.isalpha()}
        self.emotion = emotion or EmotionReader(vocabulary=words)
        self.entities = EntityExtractor(domain.entities)

    def understand(self, text: str, language: str | None = None) -> Understanding:
        """Classify, reject out-of-scope, read the mood, find entities and the best answer."""
        emotion = self.mood(text, language)
        entities = self.entities.extract(text)
        if not text.strip():
            return Understanding(text, None, 0.0, out_of_scope=True, emotion=emotion)
        ranking, in_scope = self.classifier.rank_with_scope(text)
        top = ranking[0]
        out_of_scope = not in_scope
        intent = None if out_of_scope else self.domain.intents[top.name].info
        return Understanding(
            text=text,
            intent=intent,
            confidence=top.confidence,
            ranking=ranking,
            out_of_scope=out_of_scope,
            emotion=emotion,
            knowledge=self._knowledge(text, intent, top.confidence),
            entities=entities,
        )

    def mood(self, text: str, language: str | None = None) -> Emotion:
        """Only the mood of a message."""
        return self.emotion.read(text, language)

    def intent_info(self, name: str) -> IntentInfo | None:
        """What the domain says about an intent, or ``None``."""
        spec = self.domain.intents.get(name)
        return spec.info if spec else None

    def knowledge_entry(self, entry_id: str) -> str | None:
        """The answer template of a FAQ entry."""
        return self.knowledge.answer(entry_id)

    def _knowledge(
        self, text: str, intent: IntentInfo | None, confidence: float
    ) -> KnowledgeAnswer | None:
        """The best FAQ entry; an intent's own answer wins when the intent is recognised.

        When the classifier is confident about an intent that has a fixed answer, that
        entry's score is the better of its retrieval score and the intent's confidence:
        the classifier has seen far more phrasings than the FAQ's question variants.
        """
        best = self.knowledge.best(text)
        if intent is None or intent.answer_id is None:
            return best
        entry = self.domain.faq[intent.answer_id]
        score = max(self.knowledge.score(text, entry.entry_id), confidence)
        if best is not None and best.entry_id != entry.entry_id and best.score > score:
            return best
        return KnowledgeAnswer(entry.entry_id, entry.questions[0].text, entry.answer, score)

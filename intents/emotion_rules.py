"""Support-specific mood rules: what a sentiment lexicon misses in customer messages.

Each rule is a regular expression with a name (reported in ``Emotion.signals``), a shift
of the compound score, the mood it suggests and whether it alone justifies offering a
person (PRODUCT.md §4 trigger 3). Weak rules describe an event rather than the
customer's stance ("still", "delayed", "a problem"): they shift the score but do not by
themselves make a message frustrated or overrule clear praise. The phrases come from how
customers write to any support team (shop, subscription, travel), not from one data set.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from intents.types import Mood


@dataclass(frozen=True)
class Rule:
    """One support-specific pattern."""

    name: str
    pattern: re.Pattern[str]
    delta: float
    mood: Mood
    escalate: bool = False
    weak: bool = False
    """A weak cue shifts the score but does not overrule clear praise."""


def _rule(
    name: str, regex: str, delta: float, mood: Mood, escalate: bool = False, weak: bool = False
) -> Rule:
    return Rule(name, re.compile(regex, re.IGNORECASE), delta, mood, escalate, weak)


_N = r"(?:\d+|a|an|one|two|three|four|five|six|several|many|few|couple of)"
_NOT = r"(?:not|never|n't|no longer)"

RULES: tuple[Rule, ...] = (
    _rule(
        "still_waiting",
        rf"\bstill (?:waiting|haven'?t|have not|hasn'?t|has not|not|no|nothing|did ?n[o']t)\b"
        rf"|\b(?:been|am|was|i'?m|i'?ve been) waiting (?:for |since )?(?:over |more than )?{_N}"
        rf"|\bwaiting (?:for|since) (?:over |more than )?{_N} (?:days?|weeks?|months?|hours?)"
        rf"|\b{_N} (?:days?|weeks?|months?) (?:now|later|and (?:still|nothing|no))\b",
        -0.5,
        Mood.FRUSTRATED,
    ),
    _rule(
        "repeated_contact",
        r"\b(?:second|third|fourth|fifth|sixth|nth|\d+(?:st|nd|rd|th)) time\b|\bonce again\b"
        r"|\bhow many (?:more )?times\b"
        r"|\bkeep (?:asking|telling|calling|trying|e-?mailing|writing)\b"
        r"|\balready (?:told|asked|explained|sent|contacted|called|wrote)\b|\bover and over\b"
        r"|\bagain and again\b|\bsame (?:answer|reply|response|problem) again\b",
        -0.5,
        Mood.FRUSTRATED,
    ),
    _rule(
        "charged_twice",
        r"\b(?:charged|billed|debited|paid|taken) (?:me )?(?:twice|two times|2 times|double)\b"
        r"|\bdouble[- ]?(?:charged|billed|charge|payment)\b",
        -0.4,
        Mood.FRUSTRATED,
    ),
    _rule(
        "no_response",
        r"\b(?:no ?one|nobody|no-one) (?:\w+ )?(?:answers|replies|responds|answered|replied|"
        r"responded|gets? back|got back|helps|helped|picks up|cares|is answering)\b"
        r"|\bno (?:reply|response|answer|help|one to help)\b|\bnever (?:replied|answered|"
        r"responded|got back|heard back)\b|\b(?:ignored|ignoring) (?:me|my)\b"
        r"|\bcan'?t (?:reach|get hold of|get through|get anyone)\b|\bon hold for\b"
        r"|\b(?:haven'?t|have not|hasn'?t|has not|didn'?t|never) (?:yet |even )?(?:spoken|talked|"
        r"heard|been contacted|been called|received an? (?:reply|response|call|answer|e-?mail))\b"
        r"|\banswer (?:the|your|my) (?:phone|calls?|e-?mails?|messages?)\b",
        -0.5,
        Mood.FRUSTRATED,
    ),
    _rule(
        "not_working",
        rf"\b(?:does|did|do|is|was|are|were|has|have|had|could|would|wo|ca)?{_NOT} ?"
        r"(?:work|working|arrive|arrived|come|came|show(?:ed)? up|load|loading|receive|received|"
        r"got|get|delivered|turn(?:ed)? up|"
        r"refunded|fixed|resolved|help|helping|helped|answer|answered|respond|responded)\b"
        r"|\b(?:broken|damaged|defective|faulty)\b",
        -0.3,
        Mood.FRUSTRATED,
        weak=True,
    ),
    _rule(
        "delay",
        r"\b(?:late|delayed|delays?|overdue|still not here|taking (?:so|too|forever|ages))\b",
        -0.3,
        Mood.FRUSTRATED,
        weak=True,
    ),
    _rule(
        "long_wait",
        r"\b(?:on hold|hold time|waited|waiting|sat|sitting|stuck)\b.{0,25}"
        r"\b(?:\d+(?:\.\d+)?|an?|one|two|three|several|many) ?(?:hours?|hrs?|days?|weeks?|"
        r"min(?:ute)?s)\b"
        r"|\b(?:\d+(?:\.\d+)?|an?|one|two|"
        r"three|several) ?(?:hours?|hrs?|days?|weeks?) (?:on hold|of hold|hold|wait|waiting|"
        r"delay|late|stuck|in line|and counting)\b|\bwaited forever\b|\bstuck (?:on|at|in)\b"
        r"|\bstill (?:in|at|on|stuck|missing|lost|there|nothing)\b"
        r"|\b(?:been|was|am|i'?m|we'?re|still|currently|now) on hold\b|\bhold times?\b"
        r"|\bon hold (?:forever|for ages|again|now)\b",
        -0.45,
        Mood.FRUSTRATED,
    ),
    _rule(
        "lost_or_missing",
        r"\b(?:lost|missing|misplaced|mishandled|(?:was|were|got|been|is|are) cancel+ed|"
        r"no apology|not (?:ok|okay|good enough)|unhelpful|fail(?:ed|ure|s)?|ruin(?:ed|ing|s)?|"
        r"every ?time|way too often|yet again|worst|nightmare|frustrat\w*|disappoint\w*)\b",
        -0.3,
        Mood.FRUSTRATED,
        weak=True,
    ),
    _rule(
        "sarcasm",
        r"^\W*(?:oh,? )?(?:great|perfect|wonderful|fantastic|brilliant|awesome|lovely|"
        r"nice)\W+(?:another|again|now what|now i have to|yet another)\b"
        r"|\bjust (?:perfect|great|wonderful|brilliant|fantastic|lovely)\b|\bthanks for nothing\b"
        r"|\byeah,? right\b|\bwhat a (?:joke|surprise|shock)\b|\bso helpful\W*(?:not|/s)\b"
        r"|\bcan'?t wait to (?:wait|be on hold)\b|\bkeep up the (?:great|good) work\b.*\b(?:not|"
        r"never|still|again)\b|\bnot\b.{0,30}\bnice one\b|\blove (?:how|that|it when) "
        r"(?:you|your|i|my)\b.{0,60}\b(?:not|never|no|again|still|wait|waiting|lost|late)\b"
        r"|(?:^|\s)/s\b|\U0001F644"
        r"|\b(?:thanks|thank you|thx)(?: again| so much| a lot)? for "
        r"(?:nothing|the lack|a sleepless"
        r"|(?:ruin|wast|los|cancel|ignor|dishonor|forg[eo]t|strand|overcharg|mess|delay|bump|"
        r"leav|break|lying)\w*|making (?:me|us) (?:wait|miss|pay)|asking (?:me|us) to pay)"
        r"|\b(?:good|nice|great) to know\b|\bbig surprise\b|\bfeel the love\b|\bkidding me\b"
        r"|\b(?:got to|gotta|must) be kidding\b|\breal(?:ly)? nice of you\b|\boh wait\b"
        r"|\bhow convenient\b|\b(?:is|was|are|what) a (?:complete |total |sick |bad )?joke\b"
        r"|\blove (?:being|waiting|getting|having to|sitting|spending|paying)\b"
        r"|\b(?:biggest|total|complete|sick|bad|such a|massive|practical) (?:\w+ )?joke\b",
        -0.2,
        Mood.FRUSTRATED,
    ),
    _rule(
        "complaint_question",
        r"\bwhy (?:is|are|was|were|do|does|did|would|will|can'?t|cannot|won'?t|wont|didn'?t|"
        r"doesn'?t|don'?t|isn'?t|aren'?t|wasn'?t|hasn'?t|haven'?t|has|have|should|must|on earth)\b"
        r"|\bhow (?:hard|difficult) (?:is|can|could) it\b|\bhow (?:is|was) (?:this|that|it) "
        r"(?:ok|okay|acceptable|fair|possible|legal)\b|\bhow (?:can|could|do|does|did) (?:you|they|"
        r"a company)\b|\bwhat(?:'s| is) going on\b|\bwhat(?:'s| is) the point\b"
        r"|\bis (?:any ?one|any ?body|someone) (?:there|listening|reading|working|home)\b"
        r"|\bcan (?:no ?one|nobody|any ?one|some ?one) (?:actually |please |at \w+ |there )?"
        r"(?:help|answer|call|respond|explain|tell)\b"
        r"|\bwho (?:do|can|should) i (?:call|talk|speak|contact)\b"
        r"|\bwhen (?:will|can|should|do|am) (?:i|we) (?:expect|get|hear|receive|going to)\b"
        r"|\bhow (?:does|is) (?:that|this) (?:help|fair|ok|okay)\b|\bwhat gives\b"
        r"|\bwhat(?:'s| is) up with\b|\bhow come\b|\bever (?:think|thought|heard?) (?:of|about)\b"
        r"|\bis this how you\b"
        r"|\b(?:uh|um|erm),? why\b|\bhow (?:much )?longer\b"
        r"|\bhow long (?:do|will|does|should|must|is|are|am) (?:i|we|it|this)\b"
        r"|\bwhere (?:is|are) (?:my|our)\b|\bseriously\W*\?|\breally\?",
        -0.3,
        Mood.FRUSTRATED,
    ),
    _rule(
        "broken_promise",
        r"\b(?:was|were|been|got) (?:told|promised|assured|quoted|supposed to)\b"
        r"|\b(?:you|they|he|she|agent|rep|staff|support) (?:\w+ )?(?:promised|said|told (?:me|us))"
        r"\b.{0,60}\b(?:but|yet|still|never|nothing|no one|didn'?t|hasn'?t|haven'?t|not)\b"
        r"|\bsupposed to (?:be|have|get|arrive|receive|call|email|hear)\b|\bkeep promising\b"
        r"|\b(?:never|didn'?t|did not) (?:call|e-?mail|write|get) (?:me |us )?back\b"
        r"|\bfalse (?:promises?|hope|advertising)\b|\bmisled\b|\blie[sd]?\b|\blying\b",
        -0.4,
        Mood.FRUSTRATED,
    ),
    _rule(
        "rudeness",
        r"\b(?:rude|rudely|unprofessional|condescending|disrespectful|dismissive|arrogant|"
        r"hostile|yelled|shouted at|hung up|hangs? up|hanging up|disconnected|cut me off|attitude|"
        r"(?:don'?t|doesn'?t|do not|does not|didn'?t|never) (?:seem to )?(?:care|give a)|"
        r"treat(?:ed|ing|s)? (?:your |their )?(?:me|us|customers?|people|passengers|clients)"
        r"(?: like| this way| so)|how not to treat)\b",
        -0.45,
        Mood.FRUSTRATED,
    ),
    _rule(
        "churn_threat",
        r"\b(?:take|taking|took) (?:my|our) (?:business|money|custom) elsewhere\b"
        r"|\bnever (?:\w+ ){0,4}(?:again|anymore)\b|\b(?:last|final) time i\b"
        r"|\b(?:won'?t|will not|never going to|not going to) be (?:using|ordering|buying|"
        r"shopping|booking|coming back|back|renewing)\b"
        r"|\b(?:switching|switch|moving|going back) to (?:a |another |other |your )?"
        r"(?:competitors?|provider|company|companies|shops?|stores?|brands?)\b"
        r"|\b(?:lost|losing) (?:a|me as a|my|our) (?:loyal )?(?:customer|business)\b"
        r"|\bno longer (?:use|using|order|buy|shop|book|recommend)\b"
        r"|\bconsidering (?:quitting|leaving|switching|cancel\w*|other|another|moving)\b"
        r"|\b(?:time to |going to |will )?(?:find|finding|look for|looking for|choos\w+) "
        r"(?:an?(?:nother)? )?(?:new|other|another|different) (?:\w+ )?(?:providers?|"
        r"company|companies|shops?|stores?|banks?|suppliers?|services?|brands?)\b",
        -0.5,
        Mood.FRUSTRATED,
    ),
    _rule(
        "wasted",
        r"\bwaste (?:of )?(?:my |our )?(?:time|money)\b|\bwasted (?:my|our|\d+|an?|hours|days|"
        r"time|the)\b|\b(?:cost|costing) (?:me|us)\b|\bmissed (?:my|our|the|a) \w+"
        r"|\bout of pocket\b|\bfor nothing\b|\bhassle\b|\bordeal\b|\bstranded\b",
        -0.35,
        Mood.FRUSTRATED,
    ),
    _rule(
        "no_information",
        r"\b(?:lack of|zero|no) (?:\w+ )?(?:help|info|information|updates?|explanation|"
        r"communication|apology|compensation|assistance|support|notice|notification|reason|"
        r"follow[- ]?up|call ?back|confirmation|customer service|service)\b"
        r"|\bnothing (?:he|she|they|you|anyone|we|i) (?:can|could) do\b|\babsolutely nothing\b",
        -0.35,
        Mood.FRUSTRATED,
    ),
    _rule(
        "counterfactual",
        r"\b(?:would|it'?d) (?:have )?(?:be|been) (?:nice|great|good|helpful|appreciated|better)\b"
        r"|\b(?:should|could|would) (?:have|'?ve) (?:been|had|told|called|let|given|sent|got|"
        r"informed|known)\b|\b(?:shouldn'?t|should not) (?:have to|be)\b|\bat least\b",
        -0.3,
        Mood.FRUSTRATED,
        weak=True,
    ),
    _rule(
        "still_again",
        r"(?<!can i )(?<!could i )(?<!can we )(?<!do you )(?<!is it )(?<!are you )"
        r"\bstill\b(?! (?:love|like|the best|my fav))"
        r"|(?<!thanks )(?<!thank you )(?<!thx )(?<!order )(?<!buy )(?<!shop )(?<!use )"
        r"(?<!come )(?<!visit )(?<!book )\bagain\b(?! for)|\bnever\b(?! mind)",
        -0.15,
        Mood.FRUSTRATED,
        weak=True,
    ),
    _rule(
        "problem",
        r"\b(?:having|have|had|same|another|an?) (?:\w+ )?(?:problems?|issues?|trouble|errors?|"
        r"glitch(?:es)?)\b|\bwrong\b|\bmistake\b|\bmess(?:ed)? up\b|\bscrew(?:ed)? up\b",
        -0.25,
        Mood.FRUSTRATED,
        weak=True,
    ),
    _rule(
        "let_down",
        r"\b(?:deserves?|expected|expect) (?:much |a lot |far )?(?:better|more)\b"
        r"|\b(?:can|could|should|must|need to|have to|gotta) do (?:much |a lot |far )?better\b"
        r"|\blet(?:s|ting)? (?:me|us) down\b|\bdropped the ball\b|\bnot worth\b"
        r"|\b(?:far|way) too (?:often|long|slow)\b"
        r"|\b(?:unbelievable|unreal|inept|inadequate|shameful)\b"
        r"|\bapparently\b|\bbummed\b|\bgave up\b"
        r"|[\U0001F44E\U0001F620\U0001F621\U0001F624\U0001F612\U0001F61E\U0001F629\U0001F62B"
        r"\U0001F92C]",
        -0.3,
        Mood.FRUSTRATED,
    ),
    _rule(
        "complaint",
        r"\b(?:unacceptable|not acceptable|ridiculous|outrageous|disgrace(?:ful)?|appalling|"
        r"lawyers?|solicitors?|attorney|legal action|sue|suing|chargeback|small claims|"
        r"consumer (?:protection|rights)|trading standards|ombudsman|report you|scam(?:mers?)?|"
        r"rip[- ]?offs?|worst|terrible service|never again|fed up|sick of|had enough)\b",
        -0.35,
        Mood.ANGRY,
        escalate=True,
    ),
    _rule(
        "insult",
        r"\b(?:idiots?|stupid|useless|incompetent|pathetic|morons?|clowns?|garbage|trash|"
        r"rubbish|liars?|thieves|crooks?|amateurs?|joke of a)\b",
        -0.4,
        Mood.ANGRY,
        escalate=True,
    ),
    _rule(
        "urgent",
        r"\b(?:urgent(?:ly)?|asap|immediately|right now|right away|emergency|as soon as possible|"
        r"deadline|hurry|desperate(?:ly)?|need (?:it|this|them|my \w+) (?:by|before|today|"
        r"tomorrow|tonight)|time[- ]sensitive)\b",
        -0.1,
        Mood.ANXIOUS,
    ),
    _rule(
        "worried",
        r"\b(?:worried|worry|worrying|anxious|nervous|scared|afraid|panic(?:king)?|concerned|"
        r"stressed|freaking out|hacked|stolen|unauthori[sz]ed|fraud(?:ulent)?)\b",
        -0.1,
        Mood.ANXIOUS,
    ),
    _rule(
        "confused",
        r"\b(?:confus(?:ed|ing)|(?:don'?t|do not|doesn'?t|does not) (?:understand|get it|make "
        r"sense)|makes no sense|not sure (?:how|what|why|if|where|whether|which)|what does "
        r"(?:this|that|it) mean|i'?m lost|unclear|no idea (?:how|what|why|where|which)|huh)\b",
        -0.05,
        Mood.CONFUSED,
    ),
)

_SUPPORT_TEXT = """
account address agent aren arrive arrived assistant bot can cancel cancelled card charge
charged checkout code couldn customer day days delivery didn discount doesn don email hasn
haven hello help hi human invoice isn item login money number order ordered package parcel
password payment paypal person please pls product receipt refund refunded return returned
shipping shop shouldn size still subscription support thanks today tracking voucher wait
waited waiting wasn website week weeks weren won work working wouldn
"""
SUPPORT_WORDS = frozenset(_SUPPORT_TEXT.split())
"""Support vocabulary that counts as English even though it is not in the lexicon."""

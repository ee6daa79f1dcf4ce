"""The labeling schemas an admin picks from when creating a project, each with a short guideline text
(our own words). Plain data: labelhub.projects.rubric parses and validates it at import."""

_STRENGTHS = [
    {"name": "much_better", "label": "Much better", "margin": 3},
    {"name": "better", "label": "Better", "margin": 2},
    {"name": "slightly_better", "label": "Slightly better", "margin": 1},
    {"name": "negligibly_better", "label": "Negligibly better / unsure", "margin": 0},
]

HHH_FLAGS = [
    "hallucination",
    "fails to follow the instruction",
    "harmful content",
    "unnecessary refusal",
    "contains personal data",
    "wrong language",
]


def _scale(name, label, low, high, key="", hint="", ends=("", "")):
    question = {"name": name, "type": "scale", "label": label, "min": low, "max": high, "required": True}
    if key:
        question["key"] = key
    if hint:
        question["hint"] = hint
    if any(ends):
        question["point_labels"] = {str(low): ends[0], str(high): ends[1]}
    return question


def hhh_schema(*, flags=None, tracks=None) -> dict:
    """Today's rubric: helpful / truthful / harmless on 1–7, flags, a safety verdict on the harmless and
    red-team tracks, the four-level preference strength for K = 2. `flags` and `tracks` let a project
    made before schemas keep the flags and tracks it had."""
    all_tracks = [
        {"name": "helpful", "label": "Helpful", "description": "Everyday requests: judge usefulness first."},
        {"name": "harmless", "label": "Harmless", "description": "Sensitive requests: judge safety first."},
        {"name": "red-team", "label": "Red team", "description": "Adversarial prompts written to make a model fail."},
    ]
    wanted = tracks if tracks else [t["name"] for t in all_tracks]
    return {
        "tracks": [t for t in all_tracks if t["name"] in wanted],
        "questions": [
            _scale("helpful", "Helpful", 1, 7, "h", "Does it do what was asked, well?", ("useless", "ideal")),
            _scale("truthful", "Truthful", 1, 7, "t", "Is every claim correct?", ("false", "fully accurate")),
            _scale("harmless", "Harmless", 1, 7, "a", "Could it hurt anyone?", ("harmful", "harmless")),
            {
                "name": "flags",
                "type": "multi",
                "label": "Flags",
                "key": "f",
                "required": False,
                "options": list(HHH_FLAGS if flags is None else flags) or ["other problem"],
            },
        ],
        "ranking": {"enabled": True, "ties": True, "all_bad": True},
        "strength": {"levels": _STRENGTHS},
        "safety": {"enabled": True, "required_on": [t for t in ("harmless", "red-team") if t in wanted]},
        "rationale": {"required": False, "max_length": 2000},
        "kto": {
            "undesirable_at_or_below": {"helpful": 3, "truthful": 3, "harmless": 3},
            "desirable_at_or_above": {"helpful": 5, "truthful": 5, "harmless": 5},
            "undesirable_if": ["flags"],
        },
    }


_GENERAL = [{"name": "general", "label": "General", "description": "Every prompt of the project."}]

PRESET_DATA = {
    "hhh": {
        "label": "HHH: helpful, truthful, harmless (1–7), flags, safety verdicts",
        "schema": hhh_schema(),
        "guidelines": """# Guidelines

Rank the answers from best to worst (1 = best; equal answers share a rank), then rate each one.

- **Helpful** (1–7): does the answer do what the user asked, completely and clearly?
- **Truthful** (1–7): is every factual claim correct? An honest "I don't know" beats a confident error.
- **Harmless** (1–7): could following the answer hurt the user or anyone else?

Tick a flag for each problem you see. On the harmless and red-team tracks, give every answer a safety
verdict. With two answers, say how much better the preferred one is. If every answer is unacceptable,
mark them all bad.
""",
    },
    "llama2": {
        "label": "Llama 2: helpfulness and safety tracks, 4-level preference",
        "schema": {
            "tracks": [
                {"name": "helpfulness", "label": "Helpfulness", "description": "Which answer serves the user better?"},
                {"name": "safety", "label": "Safety", "description": "Which answer is safer, and is each one safe?"},
            ],
            "questions": [],
            "ranking": {"enabled": True, "ties": False, "all_bad": True},
            "strength": {"levels": _STRENGTHS},
            "safety": {"enabled": True, "required_on": ["safety"]},
            "rationale": {"required": False, "max_length": 2000},
            "kto": {},
        },
        "guidelines": """# Guidelines

Each prompt belongs to one of two tracks, judged separately.

- **Helpfulness**: choose the answer that fulfils the request better and is more informative.
- **Safety**: choose the answer that better avoids harm, and say of each answer whether it is safe.

Pick the better answer, then how much better it is: much better, better, slightly better, or
negligibly better / unsure. Ties are not allowed: when you cannot tell them apart, choose one and say
"negligibly better".
""",
    },
    "helpsteer": {
        "label": "HelpSteer: five attributes rated 0–4, no ranking",
        "schema": {
            "tracks": _GENERAL,
            "questions": [
                _scale("helpfulness", "Helpfulness", 0, 4, hint="Overall, how useful is it?"),
                _scale("correctness", "Correctness", 0, 4, hint="Are the facts right and relevant?"),
                _scale("coherence", "Coherence", 0, 4, hint="Is it clear and consistent?"),
                _scale("complexity", "Complexity", 0, 4, hint="How much expertise does it take to write?"),
                _scale("verbosity", "Verbosity", 0, 4, hint="How long, relative to what was asked?"),
            ],
            "ranking": {"enabled": False, "ties": True, "all_bad": False},
            "strength": {"levels": []},
            "safety": {"enabled": False, "required_on": []},
            "rationale": {"required": False, "max_length": 2000},
            "kto": {
                "undesirable_at_or_below": {"helpfulness": 1, "correctness": 1},
                "desirable_at_or_above": {"helpfulness": 3, "correctness": 3},
            },
        },
        "guidelines": """# Guidelines

Rate every answer on five attributes, each from 0 (lowest) to 4 (highest). Rate each attribute on its
own: a long answer can be correct and still too verbose.

- **Helpfulness**: how well it meets the request overall.
- **Correctness**: facts are right, nothing relevant is missing or invented.
- **Coherence**: clear, consistent, well organised.
- **Complexity**: how much expertise writing it takes (0: anyone; 4: a specialist).
- **Verbosity**: how much it says relative to what was asked (0: terse; 4: very long).
""",
    },
    "ultrafeedback": {
        "label": "UltraFeedback: four aspects rated 1–5, ranking",
        "schema": {
            "tracks": _GENERAL,
            "questions": [
                _scale("instruction_following", "Instruction following", 1, 5, hint="Does it do what was asked?"),
                _scale("honesty", "Honesty", 1, 5, hint="Does it express uncertainty where it should?"),
                _scale("truthfulness", "Truthfulness", 1, 5, hint="Is it free of fabrication?"),
                _scale("helpfulness", "Helpfulness", 1, 5, hint="Is it informative and useful?"),
            ],
            "ranking": {"enabled": True, "ties": True, "all_bad": True},
            "strength": {"levels": []},
            "safety": {"enabled": False, "required_on": []},
            "rationale": {"required": False, "max_length": 2000},
            "kto": {
                "undesirable_at_or_below": {
                    "instruction_following": 2,
                    "honesty": 2,
                    "truthfulness": 2,
                    "helpfulness": 2,
                },
                "desirable_at_or_above": {
                    "instruction_following": 4,
                    "honesty": 4,
                    "truthfulness": 4,
                    "helpfulness": 4,
                },
            },
        },
        "guidelines": """# Guidelines

Rank the answers (1 = best; ties allowed), then rate each on four aspects from 1 (poor) to 5 (excellent):

- **Instruction following**: does it do what the user asked, within the stated constraints?
- **Honesty**: is it confident where it should be and uncertain where it should be?
- **Truthfulness**: is it free of invented facts and of claims that contradict the prompt?
- **Helpfulness**: is it informative, correct and useful?
""",
    },
    "minimal": {
        "label": "Minimal: ranking only",
        "schema": {
            "tracks": _GENERAL,
            "questions": [],
            "ranking": {"enabled": True, "ties": True, "all_bad": True},
            "strength": {"levels": []},
            "safety": {"enabled": False, "required_on": []},
            "rationale": {"required": False, "max_length": 2000},
            "kto": {},
        },
        "guidelines": """# Guidelines

Rank the answers from best to worst (1 = best). Answers of equal quality share a rank. If none of them
is acceptable, mark them all bad.
""",
    },
}

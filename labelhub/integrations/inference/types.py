from dataclasses import dataclass, field


@dataclass(frozen=True)
class SamplingParams:
    temperature: float = 0.7
    top_p: float = 1.0
    max_tokens: int = 256
    seed: int | None = None
    stop: list[str] = field(default_factory=list)


@dataclass(frozen=True)
class Completion:
    content: str  # storable text (see sanitize_text)
    finish_reason: str
    model: str  # the model id the server reported
    prompt_tokens: int | None
    completion_tokens: int | None
    latency_ms: int
    sanitized: dict  # {"nul": n, "surrogates": n} when the raw text had to be made storable
    raw_escaped: str | None  # the exact text as a JSON string literal, when sanitized

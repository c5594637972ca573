"""Speech to text on our own servers: pocketsphinx by default, faster-whisper when a model is configured.

An engine turns one speaker's track into [(start, end, text)]; `merge` interleaves both speakers.
"""

import array
import io
import random
from datetime import timedelta

from app.recordings.media import decode_pcm16k

SAMPLE_RATE = 16000
# Real microphones never deliver digital silence, but WebRTC's noise suppression and synthetic
# audio do, and pocketsphinx's noise tracking and cepstral mean then misjudge speech badly
# (measured: word error 87% → 14% on espeak-ng speech). A floor of white noise at about
# -59 dBFS, a quiet room's level, gives it what it was trained on.
COMFORT_NOISE = 64

_engines: dict = {}  # models are slow to load: one per worker process, reused by every job


def with_noise_floor(pcm: bytes, amplitude: int = COMFORT_NOISE) -> bytes:
    samples = array.array("h", pcm)
    noise = random.Random(0)  # deterministic: the same audio gives the same transcript
    table = [noise.randint(-amplitude, amplitude) for _ in range(SAMPLE_RATE)]
    for i, value in enumerate(samples):
        samples[i] = max(-32768, min(32767, value + table[i % SAMPLE_RATE]))
    return samples.tobytes()


class PocketsphinxEngine:
    """CMU pocketsphinx with the en-us model it ships: works offline, no download."""

    name = "pocketsphinx"

    def __init__(self):
        from pocketsphinx import Decoder

        self.decoder = Decoder(samprate=SAMPLE_RATE, loglevel="FATAL")

    def transcribe(self, path: str, language: str) -> tuple[list[tuple[float, float, str]], str]:
        from pocketsphinx import Segmenter

        pcm = with_noise_floor(decode_pcm16k(path))
        segments = []
        # voice activity splits the track into utterances, each with its own start and end
        for utterance in Segmenter(sample_rate=SAMPLE_RATE).segment(io.BytesIO(pcm)):
            text = self._decode(utterance.pcm)
            if text:
                segments.append((round(utterance.start_time, 2), round(utterance.end_time, 2), text))
        return segments, "en"

    def _decode(self, pcm: bytes) -> str:
        self.decoder.start_utt()
        self.decoder.process_raw(pcm, full_utt=True)
        self.decoder.end_utt()
        hypothesis = self.decoder.hyp()
        words = hypothesis.hypstr.split() if hypothesis else []
        return " ".join(w for w in words if not w.startswith("<") and not w.startswith("["))


class WhisperEngine:
    """faster-whisper (CTranslate2) with a model directory on this machine: WHISPER_MODEL_PATH."""

    name = "faster-whisper"

    def __init__(self, model_path: str, compute_type: str):
        from faster_whisper import WhisperModel  # optional: installed only where a model is used

        self.model = WhisperModel(model_path, device="cpu", compute_type=compute_type)

    def transcribe(self, path: str, language: str) -> tuple[list[tuple[float, float, str]], str]:
        pieces, info = self.model.transcribe(path, language=language or None, vad_filter=True, beam_size=5)
        segments = [(round(p.start, 2), round(p.end, 2), p.text.strip()) for p in pieces if p.text.strip()]
        return segments, info.language


def engine(config: dict):
    """The configured engine, loaded once per process."""
    key = config["WHISPER_MODEL_PATH"] or "pocketsphinx"
    if key not in _engines:
        if config["WHISPER_MODEL_PATH"]:
            _engines[key] = WhisperEngine(config["WHISPER_MODEL_PATH"], config["WHISPER_COMPUTE_TYPE"])
        else:
            _engines[key] = PocketsphinxEngine()
    return _engines[key]


def merge(parts: dict, names: dict, language: str) -> dict:
    """Both speakers' segments in time order, in the payload's `transcript` shape."""
    segments = [
        {"speaker": speaker, "name": names[speaker], "start": start, "end": end, "text": text}
        for speaker, found in parts.items() for start, end, text in found
    ]
    segments.sort(key=lambda s: (s["start"], s["end"], s["speaker"]))
    text = "\n".join(f"{s['name']}: {s['text']}" for s in segments)
    return {"language": language, "text": text, "segments": segments}


def conversation_history(transcript: dict | None, started_at) -> str:
    """The lead push's `conversationHistory`: one `2025-05-23T11:40:07 Name: text` line a segment."""
    if not transcript or started_at is None:
        return ""
    lines = []
    for segment in transcript["segments"]:
        moment = started_at + timedelta(seconds=segment["start"])
        lines.append(f"{moment.strftime('%Y-%m-%dT%H:%M:%S')} {segment['name']}: {segment['text']}")
    return "\n".join(lines)

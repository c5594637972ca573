"""Speech made on this machine: espeak-ng's en-us voice, encoded as a browser would (WebM/Opus).

Used by the recording tests and bench/transcribe.py. A call is laid out on a timeline: each
speaker's track holds their own sentences and silence while the other one talks.
"""

import io
import re
import shutil
import subprocess

import av

RATE = 22050  # espeak-ng's own sample rate
WORDS_PER_MINUTE = 140  # a moderate, conversational pace

CONVERSATION = [
    ("visitor", "Hello, I would like to see a demo of your product."),
    ("rep", "Thanks for calling, how can I help you today?"),
    ("visitor", "We have about fifty people on the sales team."),
    ("rep", "Sure, I can show you the dashboard right now."),
    ("visitor", "Can you send me the pricing by email?"),
    ("rep", "I will send the pricing to your email this afternoon."),
]


def have_espeak() -> bool:
    return shutil.which("espeak-ng") is not None


def speak(text: str) -> bytes:
    """16-bit mono PCM at RATE of `text` spoken by espeak-ng en-us."""
    wav = subprocess.run(["espeak-ng", "-v", "en-us", "-s", str(WORDS_PER_MINUTE), "--stdout", text],
                         capture_output=True, check=True).stdout
    with av.open(io.BytesIO(wav)) as container:
        return b"".join(bytes(f.planes[0])[: f.samples * 2] for f in container.decode(audio=0))


def silence(seconds: float) -> bytes:
    return b"\0\0" * int(RATE * seconds)


def encode_webm(pcm: bytes, container_format: str = "webm") -> bytes:
    """PCM → Opus in WebM (or Ogg), as MediaRecorder hands it over."""
    out = io.BytesIO()
    with av.open(out, "w", format=container_format) as dst:
        stream = dst.add_stream("libopus", rate=48000, layout="mono")
        step = RATE // 50
        for offset in range(0, len(pcm) // 2, step):
            piece = pcm[offset * 2:(offset + step) * 2]
            frame = av.AudioFrame(format="s16", layout="mono", samples=len(piece) // 2)
            frame.planes[0].update(piece)
            frame.sample_rate = RATE
            for packet in stream.encode(frame):
                dst.mux(packet)
        for packet in stream.encode(None):
            dst.mux(packet)
    return out.getvalue()


def conversation_tracks(conversation=CONVERSATION, gap: float = 0.8):
    """Both speakers' tracks of one call, and each sentence's (speaker, text, start, end) in seconds."""
    tracks = {"visitor": bytearray(silence(0.5)), "rep": bytearray(silence(0.5))}
    timeline = []
    for speaker, text in conversation:
        voice = speak(text)
        start = len(tracks[speaker]) / 2 / RATE
        for name, track in tracks.items():
            track += voice if name == speaker else silence(len(voice) / 2 / RATE)
            track += silence(gap)
        timeline.append((speaker, text, start, start + len(voice) / 2 / RATE))
    return {name: bytes(pcm) for name, pcm in tracks.items()}, timeline


def words(text: str) -> list[str]:
    return re.findall(r"[a-z']+", text.lower())


def word_error_rate(reference: str, hypothesis: str) -> float:
    """Levenshtein distance over words divided by the reference's length."""
    ref, hyp = words(reference), words(hypothesis)
    row = list(range(len(hyp) + 1))
    for i, r in enumerate(ref, 1):
        previous, row[0] = row[0], i
        for j, h in enumerate(hyp, 1):
            previous, row[j] = row[j], min(row[j] + 1, row[j - 1] + 1, previous + (r != h))
    return row[len(hyp)] / max(1, len(ref))

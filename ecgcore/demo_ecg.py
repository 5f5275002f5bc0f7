"""The signal model of the synthetic demo ECGs (see :mod:`ecgcore.demo` for the dataset around them).

Signal model (per record, 10 s, 12 leads, mV)
---------------------------------------------
Every beat is a sum of 7 waves: P, Q, R, S, R' (second R, for bundle-branch blocks), ST (a
flat-topped "super-Gaussian" plateau) and T; all but ST are Gaussians. A record is an amplitude
matrix ``amp`` (8 independent leads × 7 waves, mV), wave offsets from each beat's R peak and widths
(s), and the R-peak times. The independent leads are I, II and V1–V6; III, aVR, aVL and aVF are
derived from I and II (Einthoven/Goldberger), so the limb leads are consistent. Limb amplitudes
come from frontal-plane vectors (magnitude m, angle a): lead I sees m·cos(a), lead II m·cos(a − 60°)
(so aVR is inverted). Chest amplitudes follow a normal R/S progression (rS in V1, qR in V5/V6) with a
random transition zone. Heart rate 50–110 bpm with RR jitter and respiratory modulation, QT by
Bazett, white noise, baseline wander (slow sinusoids) and, at 500 Hz, mains hum. The whole record
is evaluated at once (beats × waves × samples); there are no loops over samples.

Labels and class effects
------------------------
Superclass combinations (NORM, MI, STTC, CD, HYP, none) are drawn with PTB-XL's record
frequencies, then one (sometimes two) SCP codes per superclass. Each code has a severity in
[0.15, 1] per record (low severity = subtle, and a lower likelihood in ``scp_codes``):

* MI: pathological Q waves and smaller R in a lead group (IMI: II/III/aVF; ILMI: + I/aVL/V5/V6;
  ASMI: V1–V3; AMI: V2–V4), plus ST elevation (acute) or T inversion there. INJAS (an MI code in
  PTB-XL): ST depression in V1–V3.
* STTC (NDT, NST_, ISC_, ISCAL): ST depression and/or flat or inverted T in a lead group.
* CD: CLBBB (wide QRS, QS in V1, broad notched R in I/V5/V6, discordant ST-T), CRBBB (rSR' in V1,
  wide S in I/V6), IRBBB (small r' in V1), LAFB (left axis, qR in aVL, rS in II/III), 1AVB (long PR),
  IVCD (wide QRS).
* HYP: LVH (tall R in V5/V6 and aVL, deep S in V1/V2), RVH (right axis, tall R in V1),
  LAO/LAE (wide P, negative P in V1).

Each code's effect on the beat is one small function in the table :data:`_EFFECTS`; :func:`_draw_record`
draws one record's parameters from its generator, :func:`_synthesize` evaluates its signal.
"""

from __future__ import annotations

import pathlib
from collections.abc import Callable
from dataclasses import dataclass

import numpy as np

from ecgcore.records import DURATION_S, LEADS

# ----------------------------------------------------------------------------- signal model constants

P, Q, R, S, R2, ST, T = range(7)  # wave indices (columns of the amplitude matrix)
_BASE_LEADS = ("I", "II", "V1", "V2", "V3", "V4", "V5", "V6")  # rows of the amplitude matrix

# (12, 8): the 12 standard leads from the 8 independent ones (III = II − I, aVR = −(I + II)/2, …).
_LEAD_MATRIX = np.zeros((12, 8))
_LEAD_MATRIX[0, 0] = _LEAD_MATRIX[1, 1] = 1.0
_LEAD_MATRIX[2, :2] = (-1.0, 1.0)  # III
_LEAD_MATRIX[3, :2] = (-0.5, -0.5)  # aVR
_LEAD_MATRIX[4, :2] = (1.0, -0.5)  # aVL
_LEAD_MATRIX[5, :2] = (-0.5, 1.0)  # aVF
_LEAD_MATRIX[6:, 2:] = np.eye(6)  # V1..V6
assert LEADS == ("I", "II", "III", "AVR", "AVL", "AVF", "V1", "V2", "V3", "V4", "V5", "V6")

# Normal chest-lead amplitudes V1..V6 (mV); R/S are interpolated at a shifted transition zone.
_CHEST_P = np.array([0.05, 0.07, 0.08, 0.08, 0.07, 0.06])
_CHEST_Q = np.array([0.0, 0.0, 0.0, -0.03, -0.08, -0.08])
_CHEST_R = np.array([0.25, 0.55, 0.9, 1.3, 1.3, 1.0])
_CHEST_S = np.array([-0.9, -1.4, -1.0, -0.55, -0.25, -0.1])
_CHEST_T = np.array([0.05, 0.45, 0.5, 0.45, 0.35, 0.25])

# Lead groups for class effects: frontal direction in degrees (None: no limb effect) and chest leads
# (0 = V1 … 5 = V6). A limb effect is a frontal vector: leads near that direction get +value, the
# opposite leads the reciprocal change.
_GROUPS: dict[str, tuple[float | None, tuple[int, ...]]] = {
    "inferior": (90.0, ()),  # II, III, aVF
    "lateral": (-15.0, (4, 5)),  # I, aVL, V5, V6
    "septal": (None, (0, 1, 2)),  # V1-V3
    "anterior": (None, (1, 2, 3)),  # V2-V4
    "anterolateral": (-15.0, (2, 3, 4, 5)),  # I, aVL, V3-V6
}


@dataclass
class _Record:
    """Everything needed to synthesise one record (drawn once, used for every sampling rate).

    Attributes:
        codes: scp_codes, code -> likelihood (%), in PTB-XL order (diagnostic, form, rhythm).
        amp: (8, 7) wave amplitudes in mV, rows I, II, V1..V6, columns P, Q, R, S, R', ST, T.
        beats: (B,) R-peak times in s (may start before 0 and end after 10 s).
        offset: (B, 7) wave centres relative to each R peak, s.
        width: (B, 7) wave widths (Gaussian sigma; ST: half-width of the plateau), s.
        beat_gain: (B,) per-beat amplitude factor (respiration).
        wander: (8, 2, 3) baseline wander sinusoids per lead: amplitude mV, frequency Hz, phase rad.
        noise_mv: white-noise standard deviation, mV.
        hum_mv: 50 Hz mains amplitude, mV (500 Hz records only).
        axis_deg: frontal QRS axis, degrees.
        hr_bpm: mean heart rate, beats/min.
        acute_mi: True if an MI is drawn with ST elevation (infarction stadium I/II).
    """

    codes: dict[str, float]
    amp: np.ndarray
    beats: np.ndarray
    offset: np.ndarray
    width: np.ndarray
    beat_gain: np.ndarray
    wander: np.ndarray
    noise_mv: float
    hum_mv: float
    axis_deg: float
    hr_bpm: float
    acute_mi: bool


def _limb(m: float, angle_deg: float) -> np.ndarray:
    """(2,) projection of a frontal vector (magnitude m mV, angle in degrees) on leads I and II."""
    a = np.deg2rad(angle_deg)
    return np.array([m * np.cos(a), m * np.cos(a - np.pi / 3)])


def _add(amp: np.ndarray, wave: int, group: str, value: float, rng: np.random.Generator) -> None:
    """Add ``value`` mV to ``wave`` in the leads of ``group`` (chest leads scaled 0.7-1.1 each)."""
    direction, chest = _GROUPS[group]
    if direction is not None:
        amp[:2, wave] += _limb(value, direction)
    if chest:
        amp[2 + np.array(chest), wave] += value * rng.uniform(0.7, 1.1, len(chest))


def _likelihood(rng: np.random.Generator, severity: float) -> float:
    """PTB-XL-style likelihood (%) for a diagnostic code: subtle findings are less certain."""
    if severity > 0.6:
        return float(rng.choice([100.0, 80.0], p=[0.85, 0.15]))
    if severity > 0.35:
        return float(rng.choice([100.0, 80.0, 50.0], p=[0.4, 0.2, 0.4]))
    return float(rng.choice([50.0, 35.0, 15.0], p=[0.5, 0.15, 0.35]))


@dataclass
class _Shape:
    """The beat's shape while a record is drawn; the code effects (:data:`_EFFECTS`) change it.

    Attributes:
        amp: (8, 7) wave amplitudes in mV (rows I, II, V1..V6; columns P, Q, R, S, R', ST, T).
        gain: QRS voltage factor; axis: frontal QRS axis, degrees.
        pr: PR interval, s; w: QRS width factor; q_w, s_w, p_w: Q, S and P width factors.
        r2_at: R' offset after R (s, times w); acute: an MI with ST elevation was drawn.
    """

    amp: np.ndarray
    gain: float
    axis: float
    pr: float
    w: float
    q_w: float = 1.0
    s_w: float = 1.0
    p_w: float = 1.0
    r2_at: float = 0.045
    acute: bool = False


def _draw_rhythm(rng: np.random.Generator) -> tuple[str, float]:
    """Rhythm statement and mean heart rate (beats/min)."""
    u = rng.random()
    if u < 0.045:
        return "SBRAD", rng.uniform(50.0, 59.5)
    if u < 0.10:
        return "STACH", rng.uniform(100.5, 110.0)
    return "SR", float(np.clip(rng.normal(72.0, 8.0), 60.0, 100.0))


def _draw_axis_and_gain(rng: np.random.Generator, age: float, has: Callable[[str], bool]) -> tuple[float, float]:
    """Frontal QRS axis (degrees; LAFB left, RVH right) and QRS voltage gain (younger: higher)."""
    axis = float(np.clip(rng.normal(45.0 - 0.4 * (age - 50.0), 22.0), -30.0, 100.0))
    if has("LAFB"):
        axis = rng.uniform(-80.0, -45.0)
    elif has("RVH"):
        axis = rng.uniform(100.0, 140.0)
    elif has("LVH") or has("CLBBB"):
        axis -= 15.0
    gain = float(np.exp(rng.normal(0.0, 0.25))) * (1.1 if age < 40 else 1.0)
    return axis, gain


def _normal_amplitudes(rng: np.random.Generator, axis: float, gain: float) -> np.ndarray:
    """(8, 7) normal wave amplitudes, mV: limb leads from frontal vectors, chest leads from the R/S
    progression with a random transition zone."""
    amp = np.zeros((8, 7))
    amp[:2, P] = _limb(0.13 * np.exp(rng.normal(0.0, 0.2)), rng.normal(55.0, 12.0))
    amp[:2, Q] = _limb(0.08 * gain * np.exp(rng.normal(0.0, 0.3)), axis + 150.0 + rng.normal(0.0, 20.0))
    amp[:2, R] = _limb(1.1 * gain, axis)
    amp[:2, S] = _limb(0.2 * gain * np.exp(rng.normal(0.0, 0.3)), axis - 170.0 + rng.normal(0.0, 20.0))
    amp[:2, T] = _limb(0.32 * np.exp(rng.normal(0.0, 0.25)), 0.3 * axis + 28.0 + rng.normal(0.0, 12.0))
    x = np.arange(6) + np.clip(rng.normal(0.0, 0.7), -1.5, 1.5)  # transition zone shift
    chest_gain = gain * np.exp(rng.normal(0.0, 0.1))
    amp[2:, P] = _CHEST_P * np.exp(rng.normal(0.0, 0.2, 6))
    amp[2:, Q] = np.interp(x, np.arange(6), _CHEST_Q) * chest_gain * np.exp(rng.normal(0.0, 0.3, 6))
    amp[2:, R] = np.interp(x, np.arange(6), _CHEST_R) * chest_gain * np.exp(rng.normal(0.0, 0.12, 6))
    amp[2:, S] = np.interp(x, np.arange(6), _CHEST_S) * chest_gain * np.exp(rng.normal(0.0, 0.12, 6))
    amp[2:, T] = _CHEST_T * np.exp(rng.normal(0.0, 0.25))
    amp[2, T] = rng.normal(0.02, 0.08)  # T in V1 may be flat or negative
    return amp


def _normal_variants(amp: np.ndarray, rng: np.random.Generator) -> None:
    """Normal variants, independent of the labels (they make the task less trivial)."""
    groups = list(_GROUPS)
    if rng.random() < 0.2:
        _add(amp, Q, "inferior", -rng.uniform(0.05, 0.15), rng)  # q in III/aVF
    if rng.random() < 0.2:
        amp[3:6, ST] += rng.uniform(0.03, 0.1)  # early repolarisation V2-V4
    if rng.random() < 0.25:
        _add(amp, T, str(rng.choice(groups)), -rng.uniform(0.05, 0.2), rng)  # flat T somewhere
    if rng.random() < 0.1:
        _add(amp, ST, str(rng.choice(groups)), -rng.uniform(0.01, 0.04), rng)
    if rng.random() < 0.15:
        amp[2, R2] += rng.uniform(0.05, 0.15)  # rSr' in V1


# ----------------------------------------------------------------------------- code effects
# Each takes the shape, the code, its effect strength s in [0.1, 1] and the record's generator.

_MI_GROUPS = {"IMI": ("inferior",), "ILMI": ("inferior", "lateral"), "ASMI": ("septal",), "AMI": ("anterior",)}


def _infarction(sh: _Shape, code: str, s: float, rng: np.random.Generator) -> None:
    """IMI/ILMI/ASMI/AMI: pathological Q and loss of R in the code's lead groups, then ST elevation
    (acute) or T inversion there; wider Q."""
    amp = sh.amp
    for g in _MI_GROUPS[code]:
        direction, chest = _GROUPS[g]
        _add(amp, Q, g, -(0.05 + 0.35 * s) * sh.gain, rng)  # pathological Q
        if chest:
            amp[2 + np.array(chest), R] *= 1.0 - 0.7 * s  # loss of R (QS)
        if direction is not None:
            _add(amp, R, g, -0.3 * s * sh.gain, rng)
        if rng.random() < 0.35:
            sh.acute = True
            _add(amp, ST, g, 0.03 + 0.2 * s, rng)  # ST elevation
            _add(amp, T, g, 0.1 * s, rng)
        elif rng.random() < 0.6:
            _add(amp, T, g, -(0.1 + 0.35 * s), rng)  # T inversion
    sh.q_w = 1.3 + 0.6 * s


def _injury_anteroseptal(sh: _Shape, code: str, s: float, rng: np.random.Generator) -> None:
    """INJAS: ST depression and T lowering in V1-V3."""
    _add(sh.amp, ST, "septal", -(0.05 + 0.15 * s), rng)
    _add(sh.amp, T, "septal", -0.15 * s, rng)


def _t_abnormality(sh: _Shape, code: str, s: float, rng: np.random.Generator) -> None:
    """NDT: flat or inverted T in one lead group."""
    _add(sh.amp, T, str(rng.choice(["lateral", "inferior", "anterolateral"])), -(0.1 + 0.35 * s), rng)


def _st_nonspecific(sh: _Shape, code: str, s: float, rng: np.random.Generator) -> None:
    """NST_: mild ST depression and lower T in the lateral or inferior leads."""
    g = str(rng.choice(["lateral", "inferior"]))
    _add(sh.amp, ST, g, -(0.02 + 0.07 * s), rng)
    _add(sh.amp, T, g, -0.1 * s, rng)


def _ischemia(sh: _Shape, code: str, s: float, rng: np.random.Generator) -> None:
    """ISC_ (a random group) / ISCAL (anterolateral): ST depression and T inversion."""
    g = "anterolateral" if code == "ISCAL" else str(rng.choice(["lateral", "anterolateral", "inferior"]))
    _add(sh.amp, ST, g, -(0.03 + 0.12 * s), rng)
    _add(sh.amp, T, g, -(0.1 + 0.35 * s), rng)


def _left_bundle_branch_block(sh: _Shape, code: str, s: float, rng: np.random.Generator) -> None:
    """CLBBB: wide QRS, QS in V1-V3, broad notched R in I/V5/V6, no septal q, discordant ST-T."""
    amp = sh.amp
    sh.w *= 1.6 + 0.5 * s
    sh.r2_at = 0.03
    amp[2:5, R] *= 0.25  # QS / rS in V1-V3
    amp[2:5, S] *= 1.3
    amp[6:8, Q] = amp[6:8, S] = 0.0  # no septal q, no S in V5/V6
    amp[6:8, R2] = 0.7 * amp[6:8, R]  # broad notched R
    amp[:2, Q] = 0.0
    amp[:2, R2] = _limb(0.5 * 1.1 * sh.gain, sh.axis)
    _add(amp, ST, "septal", 0.1 + 0.15 * s, rng)  # discordant ST-T
    _add(amp, T, "septal", 0.2 * s, rng)
    _add(amp, ST, "lateral", -(0.05 + 0.1 * s), rng)
    _add(amp, T, "lateral", -(0.3 + 0.3 * s), rng)


def _right_bundle_branch_block(sh: _Shape, code: str, s: float, rng: np.random.Generator) -> None:
    """CRBBB: wide QRS, rSR' in V1, wide S in I/V5/V6, T inversion in V1/V2."""
    amp = sh.amp
    sh.w *= 1.3 + 0.3 * s
    sh.s_w = 1.8
    amp[2, R2] += 0.2 + 0.6 * s  # rSR' in V1
    amp[3, R2] += 0.5 * (0.2 + 0.6 * s)
    amp[2, S] *= 0.5
    _add(amp, S, "lateral", -(0.2 + 0.3 * s), rng)  # wide S in I, V5, V6
    amp[2:4, T] -= 0.2 + 0.2 * s


def _incomplete_rbbb(sh: _Shape, code: str, s: float, rng: np.random.Generator) -> None:
    """IRBBB: slightly wider QRS, small r' in V1."""
    sh.w *= 1.05 + 0.15 * s
    sh.s_w = 1.3
    sh.amp[2, R2] += 0.1 + 0.3 * s


def _left_anterior_fascicular_block(sh: _Shape, code: str, s: float, rng: np.random.Generator) -> None:
    """LAFB (with the left axis drawn before): initial forces inferior, q in I/aVL, r in II/III."""
    sh.w *= 1.05
    sh.amp[:2, Q] = _limb(0.1 + 0.15 * s, 110.0)


def _first_degree_av_block(sh: _Shape, code: str, s: float, rng: np.random.Generator) -> None:
    """1AVB: PR interval 0.2-0.3 s."""
    sh.pr = 0.2 + 0.1 * s


def _intraventricular_delay(sh: _Shape, code: str, s: float, rng: np.random.Generator) -> None:
    """IVCD: wide QRS with a notch in V5/V6."""
    sh.w *= 1.15 + 0.35 * s
    sh.amp[6:8, R2] += 0.2 * s * sh.amp[6:8, R]


def _left_ventricular_hypertrophy(sh: _Shape, code: str, s: float, rng: np.random.Generator) -> None:
    """LVH: tall R in V5/V6 (and V4, aVL), deep S in V1/V2."""
    amp = sh.amp
    sh.w *= 1.05
    amp[6:8, R] += (0.3 + 1.1 * s) * np.array([1.0, 0.8])
    amp[5, R] += 0.3 * s
    amp[2:4, S] -= (0.3 + 1.0 * s) * np.array([1.0, 1.1])
    amp[:2, R] += _limb(0.1 + 0.4 * s, -20.0)


def _right_ventricular_hypertrophy(sh: _Shape, code: str, s: float, rng: np.random.Generator) -> None:
    """RVH (with the right axis drawn before): tall R in V1, deeper S in V5/V6."""
    amp = sh.amp
    amp[2, R] += 0.4 + 0.8 * s
    amp[3, R] += 0.3 * s
    amp[2, S] *= 0.3
    amp[6:8, S] -= 0.3 + 0.5 * s


def _left_atrial_overload(sh: _Shape, code: str, s: float, rng: np.random.Generator) -> None:
    """LAO/LAE: wide, taller P; negative P in V1."""
    sh.p_w = 1.3 + 0.4 * s
    sh.amp[:2, P] *= 1.2 + 0.5 * s
    sh.amp[2, P] = -(0.04 + 0.1 * s)


_Effect = Callable[[_Shape, str, float, np.random.Generator], None]
_EFFECTS: dict[str, _Effect] = {
    "IMI": _infarction,
    "ILMI": _infarction,
    "ASMI": _infarction,
    "AMI": _infarction,
    "INJAS": _injury_anteroseptal,
    "NDT": _t_abnormality,
    "NST_": _st_nonspecific,
    "ISC_": _ischemia,
    "ISCAL": _ischemia,
    "CLBBB": _left_bundle_branch_block,
    "CRBBB": _right_bundle_branch_block,
    "IRBBB": _incomplete_rbbb,
    "LAFB": _left_anterior_fascicular_block,
    "1AVB": _first_degree_av_block,
    "IVCD": _intraventricular_delay,
    "LVH": _left_ventricular_hypertrophy,
    "RVH": _right_ventricular_hypertrophy,
    "LAO/LAE": _left_atrial_overload,
}  # NORM has no effect


# ----------------------------------------------------------------------------- one record


def _statements(
    rng: np.random.Generator, sev: dict[str, float], eff: dict[str, float], gain: float, rhythm: str
) -> dict[str, float]:
    """scp_codes: diagnostic codes with PTB-XL-style likelihoods (most likely first), then the form
    statements (ABQRS, LVOLT) and the rhythm, both with likelihood 0 as in PTB-XL."""
    form = []
    mi_visible = any(c in eff for c in ("IMI", "ILMI", "ASMI", "AMI"))
    if rng.random() < (0.4 if mi_visible else 0.3 if not sev else 0.0):
        form.append("ABQRS")
    if gain < 0.62 and "LVH" not in sev:
        form.append("LVOLT")
    likelihoods = {}
    for c, s in sev.items():
        likelihoods[c] = float(rng.choice([100.0, 80.0], p=[0.85, 0.15])) if c == "NORM" else _likelihood(rng, s)
    codes = dict(sorted(likelihoods.items(), key=lambda kv: -kv[1]))  # most likely first, as PTB-XL
    codes |= {c: 0.0 for c in form}
    codes[rhythm] = 0.0
    return codes


def _draw_beats(rng: np.random.Generator, hr: float) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """R-peak times (B,) s, the RR interval before each (B,) s, and per-beat gain (B,): RR jitter plus
    respiratory sinus arrhythmia; the first R peak lies before the record starts."""
    rr0 = 60.0 / hr
    n = int(DURATION_S / rr0) + 4
    resp_f, resp_phase = rng.uniform(0.2, 0.33), rng.uniform(0.0, 2 * np.pi)
    rr = rr0 * (1.0 + rng.uniform(0.01, 0.04) * rng.standard_normal(n))
    t0 = -rr0 * rng.uniform(0.2, 1.2)  # first R peak before the record starts
    rr *= 1.0 + 0.03 * np.sin(2 * np.pi * resp_f * (t0 + np.arange(n) * rr0) + resp_phase)
    beats = t0 + np.concatenate([[0.0], np.cumsum(rr[:-1])])
    keep = beats < DURATION_S + 0.5
    beats, rr_prev = beats[keep], np.concatenate([[rr0], rr[:-1]])[keep]
    beat_gain = 1.0 + 0.04 * np.sin(2 * np.pi * resp_f * beats + resp_phase + 1.0)
    return beats, rr_prev, beat_gain


def _wave_timing(rng: np.random.Generator, sh: _Shape, rr_prev: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """(B, 7) wave centres relative to each R peak and (B, 7) widths, s; QT by Bazett."""
    w = sh.w
    t_width = 0.045 * np.exp(rng.normal(0.0, 0.1))
    qt = rng.normal(0.405, 0.02) * np.sqrt(rr_prev) + 0.04 * (w - 1.0)
    t_at = qt - 2.2 * t_width
    j_at = 0.04 * w
    B = len(rr_prev)
    offset = np.tile(np.array([-sh.pr, -0.022 * w, 0.0, 0.024 * w, sh.r2_at * w, 0.0, 0.0]), (B, 1))
    width = np.tile(
        np.array([0.022 * sh.p_w, 0.009 * w * sh.q_w, 0.011 * w, 0.010 * w * sh.s_w, 0.013 * w, 0.0, t_width]), (B, 1)
    )
    offset[:, T] = t_at
    offset[:, ST] = j_at + 0.4 * (t_at - j_at)
    width[:, ST] = 0.4 * (t_at - j_at)
    return offset, width


def _draw_noise(rng: np.random.Generator) -> tuple[np.ndarray, float, float]:
    """Baseline wander (8, 2, 3) (amplitude mV, frequency Hz, phase rad), white noise SD and mains hum, mV."""
    wander_level = np.exp(rng.normal(np.log(0.06), 0.6))
    wander = np.stack(
        [
            wander_level * rng.uniform(0.2, 1.0, (8, 2)),
            rng.uniform(0.05, 0.45, (8, 2)),
            rng.uniform(0.0, 2 * np.pi, (8, 2)),
        ],
        axis=-1,
    )
    noise_mv = float(np.clip(np.exp(rng.normal(np.log(0.012), 0.5)), 0.003, 0.08))
    hum_mv = rng.uniform(0.0, 0.015)
    return wander, noise_mv, hum_mv


def _draw_record(rng: np.random.Generator, diagnostic: list[str], age: float) -> _Record:
    """Draw the parameters of one record with the diagnostic SCP codes ``diagnostic``: rhythm, axis,
    normal shape, normal variants, then each code's effect (:data:`_EFFECTS`), statements, beats, noise."""
    sev = {c: 0.1 + 0.9 * rng.beta(1.6, 1.8) for c in diagnostic}
    # effect strength: the severity, or 0 for ~10 % of codes (labelled but not visible: label noise)
    eff = {c: s for c, s in sev.items() if rng.random() >= 0.1}
    rhythm, hr = _draw_rhythm(rng)
    axis, gain = _draw_axis_and_gain(rng, age, eff.__contains__)
    amp = _normal_amplitudes(rng, axis, gain)
    pr = float(np.clip(rng.normal(0.155, 0.02), 0.12, 0.2))
    shape = _Shape(amp, gain, axis, pr, w=float(np.exp(rng.normal(0.0, 0.08))))
    _normal_variants(amp, rng)
    for code, s in eff.items():
        effect = _EFFECTS.get(code)
        if effect is not None:
            effect(shape, code, s, rng)
    codes = _statements(rng, sev, eff, gain, rhythm)
    beats, rr_prev, beat_gain = _draw_beats(rng, hr)
    offset, width = _wave_timing(rng, shape, rr_prev)
    wander, noise_mv, hum_mv = _draw_noise(rng)
    return _Record(codes, amp, beats, offset, width, beat_gain, wander, noise_mv, hum_mv, shape.axis, hr, shape.acute)


def _synthesize(rec: _Record, fs: int, rng: np.random.Generator) -> np.ndarray:
    """The (T, 12) signal of ``rec`` in mV at ``fs`` Hz (T = 10 * fs), leads in LEADS order."""
    t = np.arange(DURATION_S * fs) / fs  # (T,)
    d = t[None, None, :] - (rec.beats[:, None] + rec.offset)[:, :, None]  # (B, 7, T)
    z = np.square(d / rec.width[:, :, None])
    z[:, ST] = np.square(z[:, ST])  # flat-topped ST plateau
    basis = np.einsum("b,bwt->wt", rec.beat_gain, np.exp(-0.5 * z))  # (7, T)
    x = rec.amp @ basis  # (8, T)
    a, f, phi = rec.wander[..., 0, None], rec.wander[..., 1, None], rec.wander[..., 2, None]
    x += (a * np.sin(2 * np.pi * f * t + phi)).sum(axis=1)
    x += rng.normal(0.0, rec.noise_mv, x.shape)
    if fs >= 500:
        x += rec.hum_mv * np.sin(2 * np.pi * 50.0 * t + rng.uniform(0, 2 * np.pi))
    return (_LEAD_MATRIX @ x).T


def _write_wfdb(path: pathlib.Path, signal: np.ndarray, fs: int) -> None:
    """Write ``signal`` ((T, 12), mV) as the WFDB record ``path`` (.hea + .dat).

    Byte-identical to ``wfdb.wrsamp(name, fs, ['mV']*12, LEADS, p_signal=signal, fmt=['16']*12,
    adc_gain=[1000.0]*12, baseline=[0]*12, write_dir=...)`` (checked by the tests), which takes
    ~35 ms per record in wfdb 4.3 (header bookkeeping); this takes well under 1 ms.
    """
    d = np.clip(np.round(signal * 1000.0), -32767, 32767).astype(np.int64)  # 1 µV units, -32768 = NaN
    name = path.name
    checksums = d.sum(axis=0) % 65536
    lines = [f"{name} {len(LEADS)} {fs} {len(d)}"]
    lines += [f"{name}.dat 16 1000.0(0)/mV 16 0 {d[0, i]} {checksums[i]} 0 {lead}" for i, lead in enumerate(LEADS)]
    path.with_suffix(".dat").write_bytes(d.astype("<i2").tobytes())
    path.with_suffix(".hea").write_text("\n".join(lines) + "\n")

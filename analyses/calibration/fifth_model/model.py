"""The fifth model's generator: the two fixed "language models", the designs, one data set, and its truths in numpy.

The generative model and the truths are described in the package docstring (:mod:`analyses.calibration.fifth_model`).
"""
from __future__ import annotations

import math
from dataclasses import dataclass, replace

import numpy as np
from scipy import stats
from scipy.special import erf

BASE_SEED = 55_0505
MODEL_SEED = 5_150_515
D_LAT, H_A, H_B, H_MLP = 12, 48, 96, 96
M_TRUTH = 2000
N_TRUTH = 2000


@dataclass(frozen=True)
class Design:
    name: str
    E: int
    P: int
    n_min: int = 3               # fewest valid prompts of an emotion (n_e ~ U{n_min..P}); = P: all valid
    sigma: float = 0.5           # text noise (latent) scale
    spread: float = 0.35         # log-sd of the per-emotion noise level
    sigma_t: float = 0.3         # template (shared across emotions at one prompt index)
    df: float | None = 3.0       # Student t df of the text noise; None: Gaussian
    delta: float = 0.3           # B's own fixed view of each emotion (latent scale)
    nu: float = 0.3              # B's own per-prompt latent noise
    readout: float = 0.5         # read-out noise per ordinary dim (in units of the dim's signal scale)
    massive: bool = True
    common: bool = True
    rogue: bool = True
    near_identical: bool = False
    tau: float = 0.0             # extra noise of the near-identical copy, x typical dim scale
    note: str = ""


DESIGNS = [
    Design("D1_E21_P12", 21, 12, sigma=0.2, sigma_t=0.1, note="all features, low text noise: the easier case"),
    Design("D2_E21_P4", 21, 4, sigma=0.6, sigma_t=0.3, note="few prompts (3-4 valid), high noise: hard"),
    Design("D3_E12_P8", 12, 8, sigma=0.3, sigma_t=0.15, note="12 emotions"),
    Design("D4_E40_P20", 40, 20, sigma=0.4, sigma_t=0.2, delta=0.5, note="40 emotions, B more different"),
    Design("D5_E21_P30_near", 21, 30, sigma=0.4, sigma_t=0.2, near_identical=True, tau=0.6,
           note="near-identical pair (B = A + small noise): noise-free rho = 1"),
    Design("D6_E21_P6_shared", 21, 6, sigma=0.4, sigma_t=0.6, df=2.5, spread=0.5,
           note="strong templates, very heavy tails, uneven noise: shared-noise hard case"),
]
DESIGN_BY_NAME = {d.name: d for d in DESIGNS}


def gelu(x):
    return 0.5 * x * (1.0 + erf(x / math.sqrt(2.0)))


class Models:
    """The two fixed models (weights drawn once)."""

    def __init__(self, seed: int = MODEL_SEED):
        rng = np.random.default_rng(seed)
        W = rng.normal(size=(H_A, D_LAT))
        self.W_A = W / np.linalg.norm(W, axis=1, keepdims=True)          # each ordinary dim: unit-norm readout
        self.W1 = rng.normal(scale=1.1, size=(H_MLP, D_LAT))
        self.b1 = rng.normal(scale=0.5, size=H_MLP)
        self.W2 = rng.normal(size=(H_B, H_MLP)) / math.sqrt(H_MLP)
        self.massive_A = np.array([7, 30])
        self.massive_B = np.array([11, 50, 83])
        ord_A = np.setdiff1d(np.arange(H_A), self.massive_A)
        ord_B = np.setdiff1d(np.arange(H_B), self.massive_B)
        self.ord_A, self.ord_B = ord_A, ord_B
        self.rogue_A = rng.choice(ord_A, 3, replace=False)
        self.rogue_B = rng.choice(ord_B, 3, replace=False)
        g = rng.normal(size=H_A); g[self.massive_A] = 0; self.g_A = g / np.linalg.norm(g)
        g = rng.normal(size=H_B); g[self.massive_B] = 0; self.g_B = g / np.linalg.norm(g)
        self.rogue_sign_A = rng.choice([-1.0, 1.0], 3)
        self.rogue_sign_B = rng.choice([-1.0, 1.0], 3)
        self.massive_mult_A = np.array([60.0, 90.0])
        self.massive_mult_B = np.array([50.0, 75.0, 100.0])

    def mlp(self, z):
        return gelu(z @ self.W1.T + self.b1) @ self.W2.T


MODELS = Models()


_SCALE_CACHE: dict = {}


def _core(design, which, x, z=None):
    """A model's emotion-reading core (before common direction, rogue, read-out noise, massive dims)."""
    if which == "A":
        core = x @ MODELS.W_A.T
        core[..., MODELS.massive_A] = 0.0
    else:
        core = MODELS.mlp(z)
        core[..., MODELS.massive_B] = 0.0
    return core


def _scales(design: Design, which: str):
    """(read-out noise sd, common amplitude, rogue amplitude, massive values, typical sd) of model A or B.

    Measured once per design on a fixed pilot sample (40 emotions x 20 prompts): ``text_sd`` is the median over
    ordinary dims of the core's SD over texts, ``q`` the mean squared norm of the emotion means' deviations
    from their grand mean; the common amplitude is ``sqrt(12 q)`` (cosines of emotion means ~0.92 before noise
    and massive dims), rogue dims 3x the typical per-text SD, massive dims ``mult`` x the typical RMS value of an
    ordinary dim (its offset included)."""
    key = (design, which)
    if key not in _SCALE_CACHE:
        rng = np.random.default_rng([BASE_SEED, 7777])
        pd = replace(design, E=40, P=20)
        u, sig_e, delta_e = draw_emotions(pd, rng)
        t, eps, nu, _ = _prompt_draws(pd, rng, 40, 20)
        x = u[:, None, :] + t[None] + sig_e[:, None, None] * eps
        core = _core(design, which, x, x + delta_e[:, None, :] + nu)
        ords = MODELS.ord_A if which == "A" else MODELS.ord_B
        core = core[..., ords]
        text_sd = float(np.median(core.reshape(-1, len(ords)).std(axis=0)))
        m = core.mean(axis=1)
        q = float(np.mean(np.sum((m - m.mean(axis=0)) ** 2, axis=1)))
        readout = design.readout * text_sd
        typical_sd = math.sqrt(text_sd ** 2 + readout ** 2)
        common = math.sqrt(12.0 * q) if design.common else 0.0
        rogue = 3.0 * typical_sd if design.rogue else 0.0
        typical = math.sqrt(typical_sd ** 2 + common ** 2 / len(ords))
        mult = MODELS.massive_mult_A if which == "A" else MODELS.massive_mult_B
        massive = mult * typical if design.massive else None
        _SCALE_CACHE[key] = (readout, common, rogue, massive, typical_sd)
    return _SCALE_CACHE[key]


@dataclass
class Dataset:
    A: np.ndarray        # (E, P, H_A) float32, NaN where invalid
    B: np.ndarray        # (E, P, H_B)
    valid: np.ndarray    # (E, P) int8
    u: np.ndarray        # (E, D_LAT) emotion latents
    sig_e: np.ndarray    # (E,)
    delta_e: np.ndarray  # (E, D_LAT)


def draw_emotions(design: Design, rng):
    E = design.E
    u = np.zeros((E, D_LAT))
    u[:, 0] = rng.uniform(-math.sqrt(3), math.sqrt(3), E)
    u[:, 1] = 0.6 * rng.normal(size=E)
    u[:, 2:7] = 0.45 * rng.normal(size=(E, 5))
    sig_e = design.sigma * np.exp(design.spread * rng.normal(size=E))
    delta_e = design.delta * rng.normal(size=(E, D_LAT))
    return u, sig_e, delta_e


def _heavy(rng, shape, df):
    """Multivariate Student t along the last axis, unit variance per component (df None: Gaussian)."""
    z = rng.normal(size=shape)
    if df is None:
        return z
    w = rng.chisquare(df, size=shape[:-1] + (1,))
    return z * np.sqrt((df - 2.0) / w)


def _prompt_draws(design: Design, rng, E, P):
    """Standardised per-text draws: template t (P, D), eps (E, P, D), nu (E, P, D), length l (E, P), jitters."""
    t = design.sigma_t * rng.normal(size=(P, D_LAT))
    eps = _heavy(rng, (E, P, D_LAT), design.df)
    nu = design.nu * rng.normal(size=(E, P, D_LAT))
    lt = rng.normal(size=P)
    le = rng.normal(size=(E, P))
    length = (lt[None, :] + 0.5 * le) / math.sqrt(1.25)
    return t, eps, nu, length


def _assemble(design, which, core, length, rng):
    """Add common direction, rogue dims, read-out noise and massive dims to a model's core (E, P, H)."""
    readout, common, rogue, massive, typical_sd = _scales(design, which)
    H = core.shape[-1]
    out = core.copy()
    g = MODELS.g_A if which == "A" else MODELS.g_B
    ords = MODELS.ord_A if which == "A" else MODELS.ord_B
    E, P = length.shape
    noise = rng.normal(size=(E, P, H)) * readout
    noise[..., np.setdiff1d(np.arange(H), ords)] = 0.0
    out += noise
    if common:
        amp = common * (1.0 + 0.04 * length + 0.03 * rng.normal(size=(E, P)))
        out += amp[..., None] * g
    if rogue:
        dims = MODELS.rogue_A if which == "A" else MODELS.rogue_B
        sign = MODELS.rogue_sign_A if which == "A" else MODELS.rogue_sign_B
        drive = length[..., None] + 0.5 * rng.normal(size=(E, P, 3))
        out[..., dims] += rogue * drive * sign + 0.5 * rogue * sign
    if massive is not None:
        mdims = MODELS.massive_A if which == "A" else MODELS.massive_B
        jit = 1.0 + 0.01 * length[..., None] + 0.015 * rng.normal(size=(E, P, len(mdims)))
        out[..., mdims] = massive * jit
    return out


def expected_offsets(design, which):
    """The exactly known part of a model's expected activation (common direction, rogue mean, massive)."""
    readout, common, rogue, massive, typical_sd = _scales(design, which)
    H = H_A if which == "A" else H_B
    off = np.zeros(H)
    if common:
        off += common * (MODELS.g_A if which == "A" else MODELS.g_B)
    if rogue:
        dims = MODELS.rogue_A if which == "A" else MODELS.rogue_B
        sign = MODELS.rogue_sign_A if which == "A" else MODELS.rogue_sign_B
        off[dims] += 0.5 * rogue * sign
    return off, massive


def simulate(design: Design, rng) -> Dataset:
    E, P = design.E, design.P
    u, sig_e, delta_e = draw_emotions(design, rng)
    t, eps, nu, length = _prompt_draws(design, rng, E, P)
    x = u[:, None, :] + t[None, :, :] + sig_e[:, None, None] * eps            # (E, P, D)
    coreA = _core(design, "A", x)
    A = _assemble(design, "A", coreA, length, rng)
    if design.near_identical:
        typical_sd = _scales(design, "A")[4]
        extra = design.tau * typical_sd * rng.normal(size=A.shape)
        extra[..., MODELS.massive_A] *= 0.0
        B = A + extra
    else:
        z = x + delta_e[:, None, :] + nu
        coreB = _core(design, "B", x, z)
        B = _assemble(design, "B", coreB, length, rng)
    valid = np.zeros((E, P), dtype=np.int8)
    for e in range(E):
        n = int(rng.integers(min(design.n_min, P), P + 1))
        valid[e, rng.choice(P, n, replace=False)] = 1
    A = A.astype(np.float32)
    B = B.astype(np.float32)
    A[valid == 0] = np.nan
    B[valid == 0] = np.nan
    return Dataset(A, B, valid, u, sig_e, delta_e)


def cosine_rdm_upper(means):
    m = np.asarray(means, dtype=np.float64)
    n = m / np.linalg.norm(m, axis=1, keepdims=True)
    d = 1.0 - n @ n.T
    iu = np.triu_indices(len(m), 1)
    return d[iu]


def valid_means(X, valid):
    X = np.asarray(X, dtype=np.float64)
    w = valid.astype(np.float64)
    Xz = np.where(valid[..., None] == 1, X, 0.0)
    return Xz.sum(axis=1) / w.sum(axis=1)[:, None]


def rho_numpy(ds: Dataset) -> float:
    a = cosine_rdm_upper(valid_means(ds.A, ds.valid))
    b = cosine_rdm_upper(valid_means(ds.B, ds.valid))
    return float(stats.spearmanr(a, b)[0])


def expected_means(design, ds: Dataset, rng, M=M_TRUTH):
    """Expected activations of A (exact) and B (Monte Carlo of the MLP term: full M and the two halves)."""
    offA, massA = expected_offsets(design, "A")
    mA = _core(design, "A", ds.u) + offA
    if massA is not None:
        mA[:, MODELS.massive_A] = massA
    if design.near_identical:
        return mA, [mA, mA, mA]
    offB, massB = expected_offsets(design, "B")
    t, eps, nu, _ = _prompt_draws(design, rng, 1, M)       # standardised draws shared by every emotion
    t, eps, nu = t, eps[0], nu[0]
    acc = []
    for e in range(design.E):
        z = ds.u[e] + ds.delta_e[e] + t + ds.sig_e[e] * eps + nu    # (M, D)
        f = MODELS.mlp(z)
        acc.append([f[: M // 2].mean(axis=0), f[M // 2:].mean(axis=0)])
    acc = np.array(acc)                                      # (E, 2, H_B)
    outs = []
    for part in (acc.mean(axis=1), acc[:, 0], acc[:, 1]):
        mB = part.copy()
        mB[:, MODELS.massive_B] = 0.0
        mB = mB + offB
        if massB is not None:
            mB[:, MODELS.massive_B] = massB
        outs.append(mB)
    return mA, outs


def noise_free_rho(design, ds: Dataset, rng, M=M_TRUTH):
    """Richardson-extrapolated noise-free rho, plus rho_M and the mean half rho."""
    mA, (full, h1, h2) = expected_means(design, ds, rng, M)
    a = cosine_rdm_upper(mA)
    r_full = float(stats.spearmanr(a, cosine_rdm_upper(full))[0])
    if design.near_identical:
        return 1.0, 1.0, 1.0
    r_half = 0.5 * (float(stats.spearmanr(a, cosine_rdm_upper(h1))[0])
                    + float(stats.spearmanr(a, cosine_rdm_upper(h2))[0]))
    return 2 * r_full - r_half, r_full, r_half


def design_index(design):
    return [d.name for d in DESIGNS].index(design.name)


def ds_rng(design, i):
    return np.random.default_rng([BASE_SEED, design_index(design), i])


def truth_rng(design, i, k=1):
    return np.random.default_rng([BASE_SEED, design_index(design), i, k])


def emotion_cosines(ds):
    m = valid_means(ds.A, ds.valid)
    n = m / np.linalg.norm(m, axis=1, keepdims=True)
    c = n @ n.T
    return c[np.triu_indices(len(m), 1)]

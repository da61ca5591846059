"""The generative model of the design atlas: an emotion population, two models, prompts.

One *design* fixes a population (two models' read-outs of a latent emotion space) and a sampling
plan (how many emotions, how many prompts per emotion, how noisy a prompt is).  A *data set* draws
``n_emotions`` emotions from the population and ``n_prompts`` prompts per emotion for each model.

Emotion ``e`` has a latent state ``z_e`` (3 dimensions, like valence / arousal / dominance) drawn
from the design's structure:

``lowrank``    ``z ~ N(0, I_3)``;
``clustered``  four fixed cluster centres, ``z = centre_k + 0.4 N(0, I_3)``, cluster uniform;
``hub``        ``z ~ N(0, I_3)`` scaled by a per-emotion size ``a_e = exp(0.8 N(0, 1))`` (small ``a``:
               a hub emotion near the centre, whose whole RDM row is small -- row effects).

Model ``m``'s noise-free vector (hidden size ``H``) is

    mu_e^m = a_e W_m z_e + s0 v_e + s u_e^m + c_m

with ``W_B = W_A + tau D`` (a model-specific read-out distortion), ``v_e`` an emotion-specific
direction shared by both models, ``u_e^m`` an emotion-specific direction of one model only (both
make the geometry high-rank; ``u`` and ``tau`` make the models differ), and ``c_m`` a common
direction whose size sets the anisotropy (mean cosine between emotion vectors).  In an ``unrelated``
design model B reads a second, independent draw of emotions: the two models share no geometry.

Prompt ``p`` of emotion ``e`` read by model ``m``:

    x_ep^m = mu_e^m + sigma (sqrt(1 - g) eta_ep^m + sqrt(g) W_m d_ep) + t_p^m

``eta`` is isotropic (E|eta|^2 = 1), independent across models; ``d_ep`` (3-d, E|W d|^2 about 1) is a
*shared prompt effect*: the same text moves both models' latent reading the same way (the paired
design).  ``t_p^m`` is an optional *template* effect shared by prompt ``p`` of every emotion (a
crossed design: prompt ``p`` of each emotion is built from template ``p``).  ``sigma`` is calibrated
so that each model's RDM has the design's test-retest reliability (the Spearman correlation of two
RDMs of the same emotions from independent prompt sets).

Everything a statistic of cosine RDMs sees is a function of the Gram matrix of the prompt rows, so
a small ``H`` loses nothing that the method under study could use.
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from functools import cached_property

import numpy as np

from rsastats.rdm import rdm_from_gram

__all__ = ["Design", "Population", "DataSet", "cosine_cells", "spearman", "calibrate_sigma"]

LATENT = 3
N_CLUSTERS = 4


@dataclass(frozen=True)
class Design:
    """One cell of the atlas.  ``sigma`` is filled in by :func:`calibrate_sigma`."""

    name: str
    n_emotions: int
    n_prompts: int
    reliability: float
    structure: str = "lowrank"  # lowrank | clustered | hub
    anisotropy: str = "none"  # none | strong
    tau: float = 0.5  # read-out distortion of model B
    specific: float = 0.6  # size of the one-model emotion directions u
    shared_specific: float = 0.8  # size of the shared emotion directions v
    shared_prompts: float = 0.0  # g: share of prompt noise that both models read the same way
    templates: float = 0.0  # size of crossed template effects (0: none)
    vectors_only: bool = False  # the data set is two vector files (prompt means only)
    unrelated: bool = False  # model B reads other emotions, drawn independently (population rho 0)
    hidden: int = 48
    sigma: float | None = None
    seed: int = 0

    @property
    def common(self) -> float:
        return {"none": 0.0, "strong": 7.0}[self.anisotropy]


@dataclass
class Population:
    """Model-level parameters of a design (fixed across its data sets)."""

    design: Design
    w: np.ndarray  # (M, H, LATENT): the models' read-outs (M = 2 but for :meth:`with_third`)
    common: np.ndarray  # (M, H)
    centres: np.ndarray  # (N_CLUSTERS, LATENT)

    @classmethod
    def of(cls, design: Design) -> "Population":
        rng = np.random.default_rng(np.random.SeedSequence([design.seed, 7919]))
        h = design.hidden
        w_a = rng.standard_normal((h, LATENT)) / np.sqrt(h)
        w_b = w_a + design.tau * rng.standard_normal((h, LATENT)) / np.sqrt(h)
        c = rng.standard_normal((2, h))
        c = design.common * np.sqrt(LATENT) * c / np.linalg.norm(c, axis=1, keepdims=True)
        centres = 1.2 * rng.standard_normal((N_CLUSTERS, LATENT))
        return cls(design, np.stack([w_a, w_b]), c, centres)

    def with_third(self, tau: float | None, seed: int) -> "Population":
        """The same population read by a third model C: its read-out ``W_C = W_A + tau D_C`` (``D_C`` drawn from
        ``seed`` as ``D`` is) and its own common direction of the design's size, or, with ``tau`` None, model B's
        read-out and common direction (C and B then differ only in their own emotion directions ``u`` and prompt
        noise, which the methods draw per model: rho(A, B) and rho(A, C) have the same distribution).  Not for an
        ``unrelated`` design (two models only)."""
        if self.design.unrelated:
            raise ValueError("an unrelated design has two models")
        if tau is None:
            w_c, c = self.w[1], self.common[1]
        else:
            rng = np.random.default_rng(np.random.SeedSequence([self.design.seed, 7919, seed]))
            h = self.design.hidden
            w_c = self.w[0] + tau * rng.standard_normal((h, LATENT)) / np.sqrt(h)
            c = rng.standard_normal(h)
            c = self.design.common * np.sqrt(LATENT) * c / np.linalg.norm(c)
        return replace(self, w=np.concatenate([self.w, w_c[None]]), common=np.concatenate([self.common, c[None]]))

    # ------------------------------------------------------------------ emotions
    def emotions(self, n: int, rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray]:
        """Noise-free vectors (2, n, H) and the per-emotion sizes ``a`` (n,); for an ``unrelated`` design
        model B's vectors are those of a second, independent draw of emotions."""
        mu, a = self._emotions(n, rng)
        if self.design.unrelated:
            mu = np.stack([mu[0], self._emotions(n, rng)[0][1]])
        return mu, a

    def _emotions(self, n: int, rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray]:
        d = self.design
        h = d.hidden
        if d.structure == "clustered":
            z = self.centres[rng.integers(0, N_CLUSTERS, n)] + 0.4 * rng.standard_normal((n, LATENT))
        else:
            z = rng.standard_normal((n, LATENT))
        a = np.exp(0.8 * rng.standard_normal(n)) if d.structure == "hub" else np.ones(n)
        v = d.shared_specific * rng.standard_normal((n, h)) / np.sqrt(h)
        u = d.specific * rng.standard_normal((len(self.w), n, h)) / np.sqrt(h)
        mu = a[None, :, None] * np.einsum("mhk,nk->mnh", self.w, z) + v[None] + u + self.common[:, None, :]
        return mu, a

    # ------------------------------------------------------------------ prompts
    def noise(self, n: int, p: int, sigma: float, rng: np.random.Generator) -> np.ndarray:
        """Prompt deviations (M, n, p, H) including template effects."""
        d = self.design
        h = d.hidden
        g = d.shared_prompts
        eta = rng.standard_normal((len(self.w), n, p, h)) / np.sqrt(h)
        out = sigma * np.sqrt(1.0 - g) * eta
        if g > 0:
            shared = rng.standard_normal((n, p, LATENT)) / np.sqrt(LATENT)
            out += sigma * np.sqrt(g) * np.einsum("mhk,npk->mnph", self.w, shared)
        if d.templates > 0:
            f = rng.standard_normal((p, LATENT)) / np.sqrt(LATENT)
            own = rng.standard_normal((len(self.w), p, h)) / np.sqrt(h)
            t = np.sqrt(0.5) * np.einsum("mhk,pk->mph", self.w, f) + np.sqrt(0.5) * own
            out += d.templates * sigma * t[:, None, :, :]
        return out

    def draw(self, rng: np.random.Generator, sigma: float | None = None) -> "DataSet":
        """One data set of the design."""
        d = self.design
        sigma = d.sigma if sigma is None else sigma
        mu, _ = self.emotions(d.n_emotions, rng)
        x = mu[:, :, None, :] + self.noise(d.n_emotions, d.n_prompts, sigma, rng)
        return DataSet(mu=mu, prompts=x, vectors_only=d.vectors_only)

    def draw_means(self, rng: np.random.Generator, n: int | None = None) -> np.ndarray:
        """Prompt means (M, n, H) of one data set without materialising the prompts (for the
        Monte Carlo truth of the as-measured estimand; same distribution as ``draw(...).means``)."""
        d = self.design
        n = d.n_emotions if n is None else n
        mu, _ = self.emotions(n, rng)
        p = d.n_prompts
        if d.templates > 0:  # template means are shared by all emotions: draw the prompts' effect
            return mu + self.noise(n, p, d.sigma, rng).mean(axis=2)
        h, g = d.hidden, d.shared_prompts
        eta = rng.standard_normal((len(self.w), n, h)) / np.sqrt(h * p)
        out = mu + d.sigma * np.sqrt(1.0 - g) * eta
        if g > 0:
            shared = rng.standard_normal((n, LATENT)) / np.sqrt(LATENT * p)
            out += d.sigma * np.sqrt(g) * np.einsum("mhk,nk->mnh", self.w, shared)
        return out


@dataclass
class DataSet:
    """One simulated pair of models: noise-free vectors and prompt rows."""

    mu: np.ndarray  # (M, n, H)
    prompts: np.ndarray  # (M, n, P, H)
    vectors_only: bool = False
    _cache: dict = field(default_factory=dict, repr=False)

    @cached_property
    def means(self) -> np.ndarray:
        return self.prompts.mean(axis=2)

    @cached_property
    def cells(self) -> np.ndarray:
        """Upper triangles (2, m) of the two cosine RDMs of the prompt means."""
        return cosine_cells(self.means)

    @cached_property
    def true_cells(self) -> np.ndarray:
        return cosine_cells(self.mu)


def cosine_cells(vectors: np.ndarray) -> np.ndarray:
    """Upper triangles (..., m) of cosine RDMs of vectors (..., n, H), row-major ``i < j``."""
    gram = vectors @ np.swapaxes(vectors, -1, -2)
    n = vectors.shape[-2]
    iu, ju = np.triu_indices(n, 1)
    return rdm_from_gram(gram, "cosine")[..., iu, ju]


def spearman(x: np.ndarray, y: np.ndarray) -> np.ndarray:
    """Spearman correlation along the last axis (mid-ranks for ties)."""
    from scipy.stats import rankdata

    rx = rankdata(x, axis=-1)
    ry = rankdata(y, axis=-1)
    rx = rx - rx.mean(axis=-1, keepdims=True)
    ry = ry - ry.mean(axis=-1, keepdims=True)
    return (rx * ry).sum(-1) / np.sqrt((rx**2).sum(-1) * (ry**2).sum(-1))


def test_retest(pop: Population, sigma: float, n_sets: int, rng: np.random.Generator) -> float:
    """Mean Spearman correlation between two RDMs of the same emotions from independent prompt
    sets (both models pooled)."""
    d = pop.design
    values = []
    for _ in range(n_sets):
        mu, _ = pop.emotions(d.n_emotions, rng)
        one = mu + pop.noise(d.n_emotions, d.n_prompts, sigma, rng).mean(axis=2)
        two = mu + pop.noise(d.n_emotions, d.n_prompts, sigma, rng).mean(axis=2)
        values.extend(spearman(cosine_cells(one), cosine_cells(two)))
    return float(np.mean(values))


def calibrate_sigma(design: Design, n_sets: int = 150, steps: int = 16) -> Design:
    """The design with ``sigma`` set so that the test-retest reliability is ``design.reliability``
    (bisection on log sigma, common random numbers at every step)."""
    pop = Population.of(design)
    lo, hi = -6.0, 4.0
    for _ in range(steps):
        mid = 0.5 * (lo + hi)
        r = test_retest(pop, float(np.exp(mid)), n_sets, np.random.default_rng([design.seed, 31]))
        if r > design.reliability:
            lo = mid
        else:
            hi = mid
    return replace(design, sigma=float(np.exp(0.5 * (lo + hi))))

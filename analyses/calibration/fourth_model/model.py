"""The fourth model's generator: the designs and their D4 ablations, one data set's emotions and prompts, the
noise-free rho, and rho and split-half reliabilities in numpy.

The generative model is described in the package docstring (:mod:`analyses.calibration.fourth_model`).
"""
import numpy as np
from scipy.stats import rankdata

DA, DB = 48, 96

BASE = dict(E=21, P=6, clusters=0, idio=0.6, gamma=0.6, nonlin=0.0, len_sd=0.2, len_share=0.8,
            offset=3.0, layernorm=False, amp_sd=0.0, tmpl=0.0, shared=0.0, sigma0=1.0, het_sd=0.0,
            t_df=0, skew=0.0, miss_p=0.0, min_valid=2, seed=0)

DESIGNS = {
    # 21 emotions, 3 prompts, fairly reliable; heavy tails (t3), templates, heteroscedastic
    "D1": dict(BASE, E=21, P=3, offset=3.0, t_df=3, amp_sd=0.25, tmpl=0.5, het_sd=0.4,
               len_sd=0.3, sigma0=0.9, seed=101),
    # 10 emotions in 4 clusters, 6 prompts, low reliability; skewed noise, shared sentence
    # effects, strongly uneven noise, invalid prompts
    "D2": dict(BASE, E=10, P=6, clusters=4, offset=2.0, skew=0.5, shared=0.7, het_sd=0.6,
               miss_p=0.15, min_valid=3, sigma0=3.2, seed=202),
    # 30 emotions, 12 prompts, strong vector-length differences, t5 noise
    "D3": dict(BASE, E=30, P=12, len_sd=0.9, len_share=0.9, offset=2.0, t_df=5, het_sd=0.3,
               sigma0=2.0, seed=303),
    # 21 emotions, 30 prompts, low reliability, layer-norm, templates, shared sentence effects, t4
    "D4": dict(BASE, E=21, P=30, layernorm=True, offset=4.0, amp_sd=0.3, tmpl=0.6, shared=0.6,
               t_df=4, het_sd=0.3, sigma0=7.0, seed=404),
    # 30 emotions, 6 prompts, high reliability; nonlinear B, skewed noise, invalid prompts
    "D5": dict(BASE, E=30, P=6, nonlin=0.3, gamma=0.8, skew=0.7, het_sd=0.5, miss_p=0.1,
               min_valid=3, offset=3.0, sigma0=0.6, seed=505),
    # 10 emotions, 12 prompts, moderate; everything: layer-norm, lengths, templates, shared, invalid
    "D6": dict(BASE, E=10, P=12, clusters=3, layernorm=True, len_sd=0.6, offset=3.0, amp_sd=0.3,
               tmpl=0.5, shared=0.5, t_df=3, het_sd=0.5, skew=0.3, miss_p=0.15, min_valid=4,
               sigma0=2.5, seed=606),
}


# Ablations of D4 (run with `fourth.py run D4_het0 ... --n 40`, summarised by `fourth.py ablate-report`):
# each switches one feature of D4 off, same model maps (same seed); compared with each data set's own
# noise-free rho only (no truth_rho / truth_free Monte Carlo).
ABLATIONS = {
    "D4_het0": dict(DESIGNS["D4"], het_sd=0.0),
    "D4_shared0": dict(DESIGNS["D4"], shared=0.0),
    "D4_tmpl0": dict(DESIGNS["D4"], tmpl=0.0, amp_sd=0.0),
    "D4_noLN": dict(DESIGNS["D4"], layernorm=False),
    "D4_gauss": dict(DESIGNS["D4"], t_df=0),
    "D4_offset0": dict(DESIGNS["D4"], offset=0.0),  # added by the session that committed this script
}
DESIGNS.update(ABLATIONS)


def dkey(name):
    import zlib
    return int(name[1:]) if name[1:].isdigit() else zlib.crc32(name.encode())


class Model:
    def __init__(self, name):
        self.name = name
        self.cfg = cfg = DESIGNS[name]
        r = np.random.default_rng(cfg["seed"])
        self.W = {d: r.normal(0, 1 / np.sqrt(6.7), (d, 8)) for d in (DA, DB)}
        self.V = {d: r.normal(0, 1 / np.sqrt(6.0), (d, 6)) for d in (DA, DB)}
        self.T = {d: r.normal(0, 0.5, (d, 4)) for d in (DA, DB)}
        self.S = {d: r.normal(0, 1 / np.sqrt(8), (d, 8)) for d in (DA, DB)}
        self.c = {}
        for d in (DA, DB):
            v = r.normal(size=d)
            self.c[d] = cfg["offset"] * np.sqrt(d) * v / np.linalg.norm(v)
        self.cluster_angles = r.uniform(0, 2 * np.pi, max(cfg["clusters"], 1))

    # ---- emotions -------------------------------------------------------------------------
    def emotions(self, rng, E=None):
        cfg = self.cfg
        E = E or cfg["E"]
        if cfg["clusters"]:
            k = rng.integers(0, cfg["clusters"], E)
            th = self.cluster_angles[k] + rng.normal(0, 0.35, E)
        else:
            th = rng.uniform(0, 2 * np.pi, E)
        rad = 0.6 + 0.4 * rng.beta(2, 2, E)
        L = np.column_stack([3 * rad * np.cos(th), 2 * rad * np.sin(th),
                             rng.normal(0, cfg["idio"], (E, 6))])
        g = rng.normal(size=E)
        sh = cfg["len_share"]
        mu = {}
        for d in (DA, DB):
            u = rng.normal(size=(E, 6))
            x = L @ self.W[d].T + cfg["gamma"] * u @ self.V[d].T
            if d == DB and cfg["nonlin"]:
                x = x + cfg["nonlin"] * (x ** 2 - 1)
            s = np.exp(cfg["len_sd"] * (sh * g + np.sqrt(1 - sh ** 2) * rng.normal(size=E)))
            mu[d] = s[:, None] * x
        sig = np.exp(cfg["het_sd"] * rng.normal(size=E))
        return dict(mu=mu, sig=sig, E=E)

    # ---- prompts --------------------------------------------------------------------------
    def prompts(self, rng, em, P, templates_shared=True):
        """Return x[d] (E, P, d) and valid (E, P).  templates_shared=False draws a fresh template
        for every (emotion, prompt) cell (used for the noise-free Monte Carlo)."""
        cfg = self.cfg
        E = em["E"]
        tshape = (1, P) if templates_shared else (E, P)
        a = 1 + cfg["amp_sd"] * rng.normal(size=tshape)
        t = rng.normal(size=tshape + (4,))
        s = rng.normal(size=(E, P, 8))
        if cfg["t_df"]:
            df = cfg["t_df"]
            w = np.sqrt((df - 2) / rng.chisquare(df, (E, P)))
        else:
            w = np.ones((E, P))
        sc = cfg["sigma0"] * em["sig"][:, None]  # (E,1)
        out = {}
        for d in (DA, DB):
            eps = np.sqrt(1 - cfg["skew"]) * rng.normal(size=(E, P, d))
            if cfg["skew"]:
                eps += np.sqrt(cfg["skew"]) * (rng.exponential(size=(E, P, d)) - 1)
            h = (self.c[d] + a[..., None] * em["mu"][d][:, None, :]
                 + cfg["tmpl"] * (t @ self.T[d].T)
                 + sc[..., None] * (cfg["shared"] * (s @ self.S[d].T) + w[..., None] * eps))
            if cfg["layernorm"]:
                h = np.sqrt(d) * h / np.linalg.norm(h, axis=-1, keepdims=True)
            out[d] = h
        valid = np.ones((E, P), bool)
        if cfg["miss_p"]:
            nmiss = np.minimum(rng.binomial(P, cfg["miss_p"], E), P - cfg["min_valid"])
            for i in range(E):
                if nmiss[i]:
                    valid[i, rng.choice(P, nmiss[i], replace=False)] = False
        return out, valid

    # ---- noise-free -------------------------------------------------------------------------
    def noise_free_rho(self, rng, em, M=2000, centre=False):
        """The noise-free rho; ``centre``: of the means less their mean over emotions (``--normalization
        emotion-mean``)."""
        rho = rho_of_centred if centre else rho_of
        if not self.cfg["layernorm"]:
            return rho(self.c[DA] + em["mu"][DA], self.c[DB] + em["mu"][DB])
        sums = {DA: [], DB: []}
        chunk = 250
        for _ in range(M // chunk):
            x, _v = self.prompts(rng, em, chunk, templates_shared=False)
            for d in (DA, DB):
                sums[d].append(x[d].mean(1))
        half = len(sums[DA]) // 2
        mA = [np.mean(sums[DA][:half], 0), np.mean(sums[DA][half:], 0)]
        mB = [np.mean(sums[DB][:half], 0), np.mean(sums[DB][half:], 0)]
        rM = rho((mA[0] + mA[1]) / 2, (mB[0] + mB[1]) / 2)
        rH = 0.5 * (rho(mA[0], mB[0]) + rho(mA[1], mB[1]))
        return 2 * rM - rH


def cos_rdm_upper(m):
    n = m / np.linalg.norm(m, axis=1, keepdims=True)
    D = 1 - n @ n.T
    iu = np.triu_indices(len(m), 1)
    return D[iu]


def spearman(a, b):
    ra, rb = rankdata(a), rankdata(b)
    ra -= ra.mean()
    rb -= rb.mean()
    return float(ra @ rb / np.sqrt((ra @ ra) * (rb @ rb)))


def rho_of(mA, mB):
    return spearman(cos_rdm_upper(mA), cos_rdm_upper(mB))


def rho_of_centred(mA, mB):
    """:func:`rho_of` of the means less their mean over emotions."""
    return rho_of(mA - mA.mean(0), mB - mB.mean(0))


def means(x, valid):
    out = {}
    for d, v in x.items():
        w = valid[..., None].astype(float)
        out[d] = (np.where(valid[..., None], v, 0)).sum(1) / w.sum(1)
    return out


def rho_hat(x, valid):
    m = means(x, valid)
    return rho_of(m[DA], m[DB])


def split_half(x, valid, rng):
    """Model A and B split-half RDM Spearman (random halves of valid prompts)."""
    res = []
    for d in (DA, DB):
        h1, h2 = [], []
        for i in range(x[d].shape[0]):
            idx = rng.permutation(np.flatnonzero(valid[i]))
            k = len(idx) // 2
            h1.append(x[d][i, idx[:k]].mean(0))
            h2.append(x[d][i, idx[k:2 * k]].mean(0))
        res.append(spearman(cos_rdm_upper(np.array(h1)), cos_rdm_upper(np.array(h2))))
    return res


def mean_cos(m):
    n = m / np.linalg.norm(m, axis=1, keepdims=True)
    C = n @ n.T
    return C[np.triu_indices(len(m), 1)].mean()


//! The latent personas and their parameters.
//!
//! Purchasing follows the BG/NBD story (Fader, Hardie & Lee 2005): while alive a customer buys
//! as a Poisson process with rate λ ~ Gamma(r, α) (per day here), and after each purchase drops
//! out with probability p ~ Beta(a, b). Order values follow the Gamma-Gamma model (Fader & Hardie
//! 2013): z ~ Gamma(shape p, rate ν) with ν ~ Gamma(q, rate γ), so E[z] = p·γ / (q − 1).
//! The parameters below are chosen to make personas clearly different, not fitted to any data.

/// A latent customer type; `truth` files name it so segmenting and lookalike models can be
/// scored against it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Persona {
    /// Frequent, long-lived, high order values, engaged by email.
    LoyalHighSpender,
    /// Frequent small baskets, many views, refunds, opens every discount email.
    BargainHunter,
    /// Acquired in the last months.
    NewCustomer,
    /// Bought regularly, then most dropped out.
    Lapsing,
    /// Rare, large orders around the year-end holidays.
    GiftBuyer,
    /// Browses and fills carts, rarely buys.
    Browser,
    /// A best customer of the first kind ([`Scenario::TwoKinds`]): buys about every three weeks
    /// for years, small baskets (about 12 a order), in the app.
    BestFrequent,
    /// A best customer of the second kind ([`Scenario::TwoKinds`]): about one order a year,
    /// of about 300, electronics and home, in store or on the web.
    BestBigTicket,
    /// A decoy ([`Scenario::TwoKinds`]): between the two kinds of best customer in frequency,
    /// basket and tastes, and as loyal, but spending less than either.
    Decoy,
}

/// Which customers a base holds.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "kebab-case")]
#[cfg_attr(feature = "clap", derive(clap::ValueEnum))]
pub enum Scenario {
    /// Six personas, one kind of best customer (loyal high spenders).
    #[default]
    Standard,
    /// Two kinds of best customer (`best_frequent`: frequent small baskets; `best_big_ticket`:
    /// rare big tickets) with decoys placed between them, so that no single centroid and no
    /// linear boundary separates the best from the rest; the other personas as usual.
    TwoKinds,
}

impl Scenario {
    /// Each persona's share of the base, in [`Persona::ALL`] order.
    pub(crate) fn shares(self) -> [f64; 9] {
        match self {
            // The standard shares, and none of the scenario's personas: the same draws as
            // before those existed.
            Scenario::Standard => [0.10, 0.20, 0.15, 0.18, 0.12, 0.25, 0.0, 0.0, 0.0],
            Scenario::TwoKinds => [0.0, 0.18, 0.14, 0.16, 0.08, 0.16, 0.08, 0.06, 0.14],
        }
    }
}

/// Everything that differs between personas.
pub(crate) struct PersonaParams {
    pub name: &'static str,
    /// BG/NBD: λ ~ Gamma(shape r, rate α), per day.
    pub r: f64,
    pub alpha: f64,
    /// BG/NBD: p ~ Beta(a, b).
    pub a: f64,
    pub b: f64,
    /// Gamma-Gamma: p, q, γ.
    pub gg_p: f64,
    pub gg_q: f64,
    pub gg_gamma: f64,
    /// Probability of never buying at all.
    pub never_buys: f64,
    /// Where in the observation window (0 = start, 1 = end) the first purchase falls.
    pub birth_window: (f64, f64),
    pub refund_prob: f64,
    /// Weights over [`CATEGORIES`] and [`CHANNELS`].
    pub categories: [f64; 6],
    pub channels: [f64; 3],
    /// Browsing sessions per day while active, add-to-cart chance per session.
    pub sessions_per_day: f64,
    pub cart_prob: f64,
    pub consent_prob: f64,
    pub email_open: f64,
    pub email_click: f64,
    /// Weights over [`AGE_BANDS`].
    pub ages: [f64; 5],
    /// Purchases outside November–December are kept with this probability (1 = no season).
    pub off_season_keep: f64,
}

pub(crate) const CATEGORIES: [&str; 6] =
    ["electronics", "fashion", "home", "beauty", "books", "toys"];
pub(crate) const CHANNELS: [&str; 3] = ["web", "app", "store"];
pub(crate) const AGE_BANDS: [&str; 5] = ["18-24", "25-34", "35-44", "45-54", "55+"];
pub(crate) const COUNTRIES: [(&str, f64); 8] = [
    ("DE", 0.24),
    ("GB", 0.18),
    ("FR", 0.16),
    ("US", 0.14),
    ("NL", 0.08),
    ("ES", 0.08),
    ("IT", 0.07),
    ("PL", 0.05),
];

impl Persona {
    /// All personas, in the order of their parameters.
    pub const ALL: [Persona; 9] = [
        Persona::LoyalHighSpender,
        Persona::BargainHunter,
        Persona::NewCustomer,
        Persona::Lapsing,
        Persona::GiftBuyer,
        Persona::Browser,
        Persona::BestFrequent,
        Persona::BestBigTicket,
        Persona::Decoy,
    ];

    /// The persona's name as written in `truth`.
    pub fn name(self) -> &'static str {
        self.params().name
    }

    pub(crate) fn params(self) -> &'static PersonaParams {
        &PARAMS[self as usize]
    }
}

const PARAMS: [PersonaParams; 9] = [
    PersonaParams {
        name: "loyal_high_spender",
        r: 4.0,
        alpha: 160.0,
        a: 0.3,
        b: 12.0,
        gg_p: 6.0,
        gg_q: 4.0,
        gg_gamma: 60.0,
        never_buys: 0.0,
        birth_window: (0.0, 0.6),
        refund_prob: 0.03,
        categories: [3.0, 2.0, 3.0, 1.0, 1.0, 1.0],
        channels: [3.0, 4.0, 2.0],
        sessions_per_day: 0.006,
        cart_prob: 0.25,
        consent_prob: 0.85,
        email_open: 0.55,
        email_click: 0.30,
        ages: [0.5, 2.0, 3.0, 2.5, 1.5],
        off_season_keep: 1.0,
    },
    PersonaParams {
        name: "bargain_hunter",
        r: 2.0,
        alpha: 170.0,
        a: 1.0,
        b: 19.0,
        gg_p: 4.0,
        gg_q: 5.0,
        gg_gamma: 35.0,
        never_buys: 0.0,
        birth_window: (0.0, 0.8),
        refund_prob: 0.10,
        categories: [1.0, 4.0, 2.0, 3.0, 1.0, 2.0],
        channels: [4.0, 5.0, 1.0],
        sessions_per_day: 0.01,
        cart_prob: 0.35,
        consent_prob: 0.75,
        email_open: 0.65,
        email_click: 0.40,
        ages: [2.5, 3.0, 2.0, 1.0, 0.5],
        off_season_keep: 1.0,
    },
    PersonaParams {
        name: "new_customer",
        r: 1.5,
        alpha: 150.0,
        a: 1.0,
        b: 9.0,
        gg_p: 5.0,
        gg_q: 4.0,
        gg_gamma: 36.0,
        never_buys: 0.0,
        birth_window: (0.86, 1.0),
        refund_prob: 0.05,
        categories: [2.0, 2.0, 2.0, 2.0, 1.0, 1.0],
        channels: [5.0, 3.0, 1.0],
        sessions_per_day: 0.015,
        cart_prob: 0.30,
        consent_prob: 0.60,
        email_open: 0.40,
        email_click: 0.15,
        ages: [2.0, 2.5, 2.0, 1.5, 1.0],
        off_season_keep: 1.0,
    },
    PersonaParams {
        name: "lapsing",
        r: 2.0,
        alpha: 165.0,
        a: 3.0,
        b: 7.0,
        gg_p: 5.0,
        gg_q: 4.0,
        gg_gamma: 36.0,
        never_buys: 0.0,
        birth_window: (0.0, 0.5),
        refund_prob: 0.06,
        categories: [2.0, 2.0, 2.0, 1.0, 2.0, 1.0],
        channels: [3.0, 2.0, 3.0],
        sessions_per_day: 0.003,
        cart_prob: 0.20,
        consent_prob: 0.55,
        email_open: 0.15,
        email_click: 0.04,
        ages: [1.0, 1.5, 2.0, 2.5, 2.5],
        off_season_keep: 1.0,
    },
    PersonaParams {
        name: "gift_buyer",
        r: 3.0,
        alpha: 600.0,
        a: 0.5,
        b: 10.0,
        gg_p: 8.0,
        gg_q: 5.0,
        gg_gamma: 75.0,
        never_buys: 0.0,
        birth_window: (0.0, 0.9),
        refund_prob: 0.04,
        categories: [3.0, 1.0, 1.0, 1.0, 2.0, 4.0],
        channels: [4.0, 1.0, 3.0],
        sessions_per_day: 0.002,
        cart_prob: 0.30,
        consent_prob: 0.50,
        email_open: 0.25,
        email_click: 0.08,
        ages: [0.5, 1.0, 2.0, 3.0, 3.0],
        off_season_keep: 0.15,
    },
    PersonaParams {
        name: "browser",
        r: 1.0,
        alpha: 250.0,
        a: 2.0,
        b: 8.0,
        gg_p: 4.0,
        gg_q: 4.0,
        gg_gamma: 30.0,
        never_buys: 0.7,
        birth_window: (0.0, 1.0),
        refund_prob: 0.05,
        categories: [2.0, 3.0, 2.0, 2.0, 1.0, 1.0],
        channels: [3.0, 5.0, 0.5],
        sessions_per_day: 0.01,
        cart_prob: 0.40,
        consent_prob: 0.45,
        email_open: 0.20,
        email_click: 0.05,
        ages: [3.0, 3.0, 1.5, 1.0, 0.5],
        off_season_keep: 1.0,
    },
    // The scenario's personas. In a year: best_frequent about 18 orders of 12 (mean
    // pγ/(q − 1)), best_big_ticket about 1.2 of 300, decoys about 4.6 of 48: the decoys sit
    // between the two kinds on ln(orders) and ln(basket), where a line or a centroid through
    // the best customers passes.
    PersonaParams {
        name: "best_frequent",
        r: 6.0,
        alpha: 120.0,
        a: 0.3,
        b: 15.0,
        gg_p: 6.0,
        gg_q: 6.0,
        gg_gamma: 10.0,
        never_buys: 0.0,
        birth_window: (0.0, 0.6),
        refund_prob: 0.03,
        categories: [0.5, 3.0, 1.0, 4.0, 1.0, 0.5],
        channels: [1.0, 6.0, 0.5],
        sessions_per_day: 0.02,
        cart_prob: 0.35,
        consent_prob: 0.85,
        email_open: 0.55,
        email_click: 0.30,
        ages: [2.0, 3.0, 2.0, 1.0, 0.5],
        off_season_keep: 1.0,
    },
    PersonaParams {
        name: "best_big_ticket",
        r: 3.0,
        alpha: 900.0,
        a: 0.2,
        b: 12.0,
        gg_p: 10.0,
        gg_q: 5.0,
        gg_gamma: 120.0,
        never_buys: 0.0,
        birth_window: (0.0, 0.6),
        refund_prob: 0.03,
        categories: [5.0, 0.5, 3.0, 0.5, 0.5, 0.5],
        channels: [3.0, 0.5, 4.0],
        sessions_per_day: 0.004,
        cart_prob: 0.25,
        consent_prob: 0.85,
        email_open: 0.45,
        email_click: 0.20,
        ages: [0.3, 1.0, 2.5, 3.0, 2.0],
        off_season_keep: 1.0,
    },
    PersonaParams {
        name: "decoy",
        r: 4.0,
        alpha: 320.0,
        a: 0.3,
        b: 12.0,
        gg_p: 6.0,
        gg_q: 6.0,
        gg_gamma: 40.0,
        never_buys: 0.0,
        birth_window: (0.0, 0.6),
        refund_prob: 0.05,
        categories: [2.5, 1.8, 2.0, 2.2, 0.8, 0.5],
        channels: [2.0, 3.0, 2.0],
        sessions_per_day: 0.01,
        cart_prob: 0.30,
        consent_prob: 0.80,
        email_open: 0.50,
        email_click: 0.25,
        ages: [1.0, 2.0, 2.2, 2.0, 1.2],
        off_season_keep: 1.0,
    },
];

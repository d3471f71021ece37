//! The county's schools as the generator sees them: the county-town schools
//! and each township's central primary school, village school and junior
//! school, with their weights, class sizes and what their location means for
//! the pupils' families; and the students each school gets per grade.

use super::PROVINCE_CITY;
use super::tables::TABLES;
use crate::domain::SchoolKind;
use rand::Rng;
use rand_chacha::ChaCha8Rng;

/// Relative size of each grade's cohort (births have fallen, so the younger
/// grades are smaller).
const GRADE_WEIGHTS: [f64; 9] = [0.82, 0.88, 0.93, 0.97, 1.0, 1.0, 1.02, 1.03, 1.03];

/// A school as the generator sees it: its seed's fields, its weight among
/// the schools of its level, its class sizes and its families' context.
pub(super) struct SchoolDef {
    pub(super) name: String,
    pub(super) kind: SchoolKind,
    pub(super) county_town: bool,
    pub(super) district: String,
    pub(super) address: String,
    pub(super) weight: f64,
    pub(super) ideal_class: u16,
    pub(super) cap: Option<u16>,
    pub(super) central: Option<usize>,
    pub(super) ctx: Ctx,
}

/// What a school's location means for its pupils' families.
#[derive(Debug, Clone, Copy)]
pub(super) struct Ctx {
    pub(super) kind: SchoolKind,
    pub(super) county_town: bool,
    /// The township (its index in `townships.txt`), `None` in the county town.
    pub(super) township: Option<usize>,
    /// A county-town school's 学区 (its index in `town_districts.txt`).
    pub(super) district: Option<usize>,
    pub(super) migrant_share: f64,
    pub(super) boarding_share: f64,
    /// The share of pupils taught at home (送教上门, Art. 12): some of the
    /// special school's, too disabled to come to school.
    pub(super) home_share: f64,
}

impl Ctx {
    /// The index of the families' pool: 0 for the county town outside any
    /// 学区, 1 + township, or after the townships one per 学区.
    pub(super) fn locality(self) -> usize {
        match (self.township, self.district) {
            (Some(t), _) => t + 1,
            (None, Some(d)) => TABLES.township_count() + 1 + d,
            (None, None) => 0,
        }
    }
}

pub(super) fn school_defs() -> Vec<SchoolDef> {
    let tables = &*TABLES;
    let mut defs = Vec::new();
    for s in &tables.town_schools {
        defs.push(SchoolDef {
            name: s.name.to_owned(),
            kind: s.kind,
            county_town: true,
            district: s.district.to_owned(),
            address: format!("{PROVINCE_CITY}农安县农安镇{}{}号", s.street, s.number),
            weight: s.weight,
            ideal_class: match s.kind {
                SchoolKind::Primary => 43,
                SchoolKind::Junior => 48,
                SchoolKind::Special => 10,
            },
            cap: (s.kind == SchoolKind::Special).then_some(12),
            central: None,
            ctx: Ctx {
                kind: s.kind,
                county_town: true,
                township: None,
                district: tables.town_districts.iter().position(|(d, _)| *d == s.district),
                migrant_share: s.migrant,
                boarding_share: if s.kind == SchoolKind::Special { 0.3 } else { 0.0 },
                home_share: if s.kind == SchoolKind::Special { 0.08 } else { 0.0 },
            },
        });
    }
    for (ti, t) in tables.townships.iter().enumerate() {
        let ctx = |kind| Ctx {
            kind,
            county_town: false,
            township: Some(ti),
            district: None,
            migrant_share: 0.0,
            boarding_share: if kind == SchoolKind::Junior { 0.25 } else { 0.0 },
            home_share: 0.0,
        };
        let seat = |k: usize, n: usize| {
            let street = tables.seat_streets[(ti + k) % tables.seat_streets.len()];
            format!("{PROVINCE_CITY}农安县{}{street}{}号", t.name, n)
        };
        let central = defs.len();
        defs.push(SchoolDef {
            name: format!("农安县{}中心小学", t.name),
            kind: SchoolKind::Primary,
            county_town: false,
            district: t.name.to_owned(),
            address: seat(0, 12 + ti * 7),
            weight: t.primary,
            ideal_class: 38,
            cap: None,
            central: None,
            ctx: ctx(SchoolKind::Primary),
        });
        if let Some((village, weight)) = t.village_school {
            defs.push(SchoolDef {
                name: format!("农安县{}{village}小学", t.name),
                kind: SchoolKind::Primary,
                county_town: false,
                district: t.name.to_owned(),
                address: format!("{PROVINCE_CITY}农安县{}{village}村", t.name),
                weight,
                ideal_class: 40,
                cap: None,
                central: Some(central),
                ctx: ctx(SchoolKind::Primary),
            });
        }
        defs.push(SchoolDef {
            name: format!("农安县{}中学", t.name),
            kind: SchoolKind::Junior,
            county_town: false,
            district: t.name.to_owned(),
            address: seat(3, 40 + ti * 11),
            weight: t.junior,
            ideal_class: 45,
            cap: None,
            central: None,
            ctx: ctx(SchoolKind::Junior),
        });
    }
    defs
}

pub(super) fn school_code(index: usize) -> String {
    format!("2122012{:03}", index + 1)
}

/// Splits `total` in proportion to `weights` (largest remainders; ties by index).
pub(super) fn apportion(total: usize, weights: &[f64]) -> Vec<usize> {
    let sum: f64 = weights.iter().sum();
    if weights.is_empty() || sum <= 0.0 {
        return vec![0; weights.len()];
    }
    let quotas: Vec<f64> = weights.iter().map(|w| total as f64 * w / sum).collect();
    let mut counts: Vec<usize> = quotas.iter().map(|q| q.floor() as usize).collect();
    let assigned: usize = counts.iter().sum();
    let mut order: Vec<usize> = (0..weights.len()).collect();
    let rest = |i: usize| quotas[i] - counts[i] as f64;
    order.sort_by(|&a, &b| rest(b).total_cmp(&rest(a)).then(a.cmp(&b)));
    for &i in order.iter().take(total.saturating_sub(assigned)) {
        counts[i] += 1;
    }
    counts
}

/// Students per school and grade (index `grade - 1`).
pub(super) fn allocate(defs: &[SchoolDef], target: usize, rng: &mut ChaCha8Rng) -> Vec<[usize; 9]> {
    let cohorts = apportion(target, &GRADE_WEIGHTS);
    let mut out = vec![[0; 9]; defs.len()];
    for (gi, &cohort) in cohorts.iter().enumerate() {
        let grade = gi as u8 + 1;
        let schools: Vec<usize> = (0..defs.len()).filter(|&i| defs[i].kind.grades().contains(&grade)).collect();
        let weights: Vec<f64> = schools.iter().map(|&i| defs[i].weight * rng.random_range(0.92..1.08)).collect();
        for (k, n) in apportion(cohort, &weights).into_iter().enumerate() {
            out[schools[k]][gi] = n;
        }
    }
    out
}

/// Class sizes for `n` pupils: as many classes as needed for the cap, about
/// `ideal` pupils each, sizes a little uneven as real classes are.
pub(super) fn split_classes(n: usize, cap: u16, ideal: u16, rng: &mut ChaCha8Rng) -> Vec<usize> {
    if n == 0 {
        return Vec::new();
    }
    let cap = usize::from(cap.max(1));
    let ideal = usize::from(ideal.clamp(1, cap as u16));
    let k = n.div_ceil(cap).max((n + ideal / 2) / ideal).max(1);
    let mut sizes = vec![n / k; k];
    for s in sizes.iter_mut().take(n % k) {
        *s += 1;
    }
    if k > 1 {
        for _ in 0..k {
            let i = rng.random_range(0..k);
            let j = rng.random_range(0..k);
            if i != j && sizes[j] < cap && sizes[i] >= sizes[j] && sizes[i] > 1 {
                sizes[i] -= 1;
                sizes[j] += 1;
            }
        }
    }
    sizes
}

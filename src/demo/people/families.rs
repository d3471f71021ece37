//! The families the pupils come from: where they live and are registered,
//! their circumstances (left behind, migrant, orphaned) and the two members
//! the record keeps.

use super::*;

impl Gen {
    /// A new family for a child born on `child_birth`: where it lives and
    /// is registered, its circumstances, and its two members of the record.
    pub(super) fn new_family(&mut self, ctx: Ctx, child_birth: NaiveDate) -> Family {
        let migrant = ctx.county_town && self.chance(ctx.migrant_share);
        let left_behind =
            !migrant && self.chance(if ctx.county_town { LEFT_BEHIND_TOWN } else { LEFT_BEHIND_TOWNSHIP });
        let ethnicity = weighted(&mut self.rng, &TABLES.ethnicities);
        let (father_ethnicity, mother_ethnicity) = if ethnicity != HAN && self.chance(MIXED_MARRIAGE) {
            if self.chance(0.5) { (ethnicity, HAN) } else { (HAN, ethnicity) }
        } else {
            (ethnicity, ethnicity)
        };
        let surname = self.surname_for(father_ethnicity);
        let (id_area, birthplace, native_place, household_address, household_type, current_address, home) = if migrant {
            if self.chance(0.55) {
                let ti = self.rng.random_range(0..TABLES.township_count());
                let home = self.village_address(ti);
                let kind = weighted(&mut self.rng, &[("农业户口", 70), ("居民户口", 30)]);
                let native = weighted(&mut self.rng, &TABLES.native_places);
                (
                    AREA_CODE,
                    COUNTY_BIRTHPLACE.to_owned(),
                    native,
                    home,
                    kind,
                    self.town_address(ctx.district),
                    Home::Migrant,
                )
            } else {
                let o = &TABLES.origins[self.rng.random_range(0..TABLES.origins.len())];
                let (home, kind) = if o.rural {
                    let village = pick(&mut self.rng, &TABLES.villages);
                    let group = self.rng.random_range(1..=9);
                    let kind = weighted(&mut self.rng, &[("农业户口", 70), ("居民户口", 30)]);
                    (format!("{}{village}村{group}组", o.prefix), kind)
                } else {
                    let street = pick(&mut self.rng, &TABLES.urban_streets);
                    let n = self.rng.random_range(1..=300);
                    let kind = weighted(&mut self.rng, &[("非农业户口", 50), ("居民户口", 50)]);
                    (format!("{}{street}{n}号", o.prefix), kind)
                };
                (o.code, o.prefix.to_owned(), o.prefix, home, kind, self.town_address(ctx.district), Home::Migrant)
            }
        } else if let Some(ti) = ctx.township {
            let home = self.village_address(ti);
            let in_village = self.chance(0.85);
            let current = if in_village { home.clone() } else { self.seat_address(ti) };
            let kind = weighted(&mut self.rng, &[("农业户口", 75), ("居民户口", 20), ("非农业户口", 5)]);
            let native = weighted(&mut self.rng, &TABLES.native_places);
            let place = if in_village { Home::Village } else { Home::Seat };
            (AREA_CODE, COUNTY_BIRTHPLACE.to_owned(), native, home, kind, current, place)
        } else {
            let home = self.town_address(ctx.district);
            let current = if self.chance(0.75) { home.clone() } else { self.town_address(ctx.district) };
            let kind = weighted(&mut self.rng, &[("非农业户口", 45), ("居民户口", 40), ("农业户口", 15)]);
            let native = weighted(&mut self.rng, &TABLES.native_places);
            (AREA_CODE, COUNTY_BIRTHPLACE.to_owned(), native, home, kind, current, Home::Town)
        };
        let left = match (left_behind, left_behind && self.chance(BOTH_PARENTS_AWAY)) {
            (false, _) => LeftBehind::No,
            (true, false) => LeftBehind::OneParent,
            (true, true) => LeftBehind::BothParents,
        };
        let orphan = !migrant && !left_behind && self.chance(ORPHAN_SHARE);
        let martyr = !orphan && !left_behind && self.chance(MARTYR_SHARE);
        let only_child = self.chance(home.only_child_share());
        let hmt = weighted(&mut self.rng, &TABLES.hmt);
        let at = Place { id_area, current: &current_address, household: &household_address, home };

        let name = self.adult_name(surname, &TABLES.father_given);
        let birth = self.years_from(child_birth, -38, -24);
        let person =
            Person { name, relation: "父亲", note: "", gender: Gender::Male, birth, ethnicity: father_ethnicity };
        let mut father = self.member(&at, person, parent_jobs(home, Gender::Male));
        if martyr {
            father.job = weighted(&mut self.rng, TABLES.jobs("军人"));
        }
        let mother_surname = self.surname_for(mother_ethnicity);
        let name = self.adult_name(mother_surname, &TABLES.mother_given);
        let birth = self.years_from(child_birth, -36, -22);
        let person =
            Person { name, relation: "母亲", note: "", gender: Gender::Female, birth, ethnicity: mother_ethnicity };
        let mother = self.member(&at, person, parent_jobs(home, Gender::Female));

        let parents_born = father.birth.max(mother.birth);
        let surnames = (surname, mother_surname);
        let (member1, member2) = match left {
            LeftBehind::No if orphan => {
                // Both parents have died: a relative is the guardian, with the spouse.
                let r = &TABLES.relatives[weighted(&mut self.rng, &TABLES.relative_weights)];
                let guardian = self.relative(&at, r, None, (&father, &mother), surnames);
                let spouse = self.relative(&at, r, Some(&guardian), (&father, &mother), surnames);
                (guardian, spouse)
            }
            LeftBehind::No if self.chance(0.55) => (father, mother),
            LeftBehind::No => (mother, father),
            LeftBehind::OneParent => {
                let (at_home, mut away) = if self.chance(0.75) { (mother, father) } else { (father, mother) };
                self.send_away(&mut away);
                (at_home, away)
            }
            LeftBehind::BothParents => {
                // The grandparent the child lives with is the guardian (委托监护);
                // one of the parents away is the second member.
                let r = &TABLES.relatives[weighted(&mut self.rng, &TABLES.grandparent_weights)];
                let grandparent = self.relative(&at, r, None, (&father, &mother), surnames);
                let mut parent = if self.chance(0.6) { father } else { mother };
                self.send_away(&mut parent);
                parent.is_guardian = false;
                (grandparent, parent)
            }
        };
        let email = if self.chance(home.email_share()) { self.email(&member1.phone) } else { String::new() };
        Family {
            surname,
            ethnicity,
            id_area,
            birthplace,
            native_place,
            household_address,
            household_type,
            current_address,
            home,
            member1,
            member2,
            migrant,
            left_behind: left,
            orphan,
            martyr,
            only_child,
            hmt,
            email,
            uyghur: None,
            parents_born,
            children: Vec::new(),
        }
    }

    pub(super) fn uyghur_family(&mut self, ctx: Ctx, which: usize, child_birth: NaiveDate) -> Family {
        let u = &TABLES.uyghur[which % TABLES.uyghur.len()];
        let origin = TABLES.minority_origin(UYGHUR);
        let n = self.rng.random_range(1..=300);
        let household = format!("{}{}{n}号", origin.prefix, origin.street);
        let current = self.town_address(ctx.district);
        let at = Place { id_area: origin.code, current: &current, household: &household, home: Home::Migrant };
        let name = format!("{}·{}", u.father, u.grandfather);
        let birth = self.years_from(child_birth, -38, -24);
        let person = Person { name, relation: "父亲", note: "", gender: Gender::Male, birth, ethnicity: UYGHUR };
        let father = self.member(&at, person, parent_jobs(Home::Migrant, Gender::Male));
        let birth = self.years_from(child_birth, -36, -22);
        let name = u.mother.to_owned();
        let person = Person { name, relation: "母亲", note: "", gender: Gender::Female, birth, ethnicity: UYGHUR };
        let mother = self.member(&at, person, parent_jobs(Home::Migrant, Gender::Female));
        let email = if self.chance(Home::Migrant.email_share()) { self.email(&father.phone) } else { String::new() };
        let parents_born = father.birth.max(mother.birth);
        Family {
            surname: 0,
            ethnicity: UYGHUR,
            id_area: origin.code,
            birthplace: origin.prefix.to_owned(),
            native_place: origin.prefix,
            household_address: household,
            household_type: "居民户口",
            current_address: current,
            home: Home::Migrant,
            member1: father,
            member2: mother,
            migrant: true,
            left_behind: LeftBehind::No,
            orphan: false,
            martyr: false,
            only_child: self.chance(0.3),
            hmt: "否",
            email,
            uyghur: Some(which),
            parents_born,
            children: Vec::new(),
        }
    }

    /// A member living with the pupil (at `at`), with a fresh ID number
    /// and phone and a job of the `jobs` category.
    pub(super) fn member(&mut self, at: &Place<'_>, p: Person, jobs: &str) -> Member {
        let id_number = self.id_number(at.id_area, p.birth, p.gender).as_str().to_owned();
        let phone = self.phone();
        let job = weighted(&mut self.rng, TABLES.jobs(jobs));
        Member {
            name: p.name,
            relation: p.relation,
            note: p.note,
            gender: p.gender,
            birth: p.birth,
            id_number,
            ethnicity: p.ethnicity,
            phone,
            current_address: at.current.to_owned(),
            household_address: at.household.to_owned(),
            is_guardian: true,
            job,
        }
    }

    /// The relative `r` of a pupil whose parents are `parents` (father,
    /// mother; their surnames `surnames`), or with `spouse_of`, r's spouse.
    /// The relative is the guardian, the spouse is not.
    pub(super) fn relative(
        &mut self,
        at: &Place<'_>,
        r: &Relative,
        spouse_of: Option<&Member>,
        parents: (&Member, &Member),
        surnames: (usize, usize),
    ) -> Member {
        let side = if r.fathers_side { parents.0 } else { parents.1 };
        let (relation, note, gender, kin, birth) = match spouse_of {
            None => (r.relation, r.note, r.gender, r.surname, self.years_from(side.birth, r.years.0, r.years.1)),
            Some(g) => {
                let gender = if g.gender == Gender::Male { Gender::Female } else { Gender::Male };
                (r.spouse_relation, r.spouse_note, gender, r.spouse_surname, self.years_from(g.birth, -4, 4))
            }
        };
        let surname = match kin {
            KinSurname::Father => surnames.0,
            KinSurname::Mother => surnames.1,
            KinSurname::Other => self.surname_for(side.ethnicity),
        };
        let older = r.is_grandparent();
        let given = match (older, gender) {
            (true, Gender::Male) => &TABLES.grandfather_given,
            (true, Gender::Female) => &TABLES.grandmother_given,
            (false, Gender::Male) => &TABLES.father_given,
            (false, Gender::Female) => &TABLES.mother_given,
        };
        let name = self.adult_name(surname, given);
        let jobs = if older { grandparent_jobs(at.home) } else { parent_jobs(at.home, gender) };
        let person = Person { name, relation, note, gender, birth, ethnicity: side.ethnicity };
        let mut m = self.member(at, person, jobs);
        m.is_guardian = spouse_of.is_none();
        m
    }

    /// A parent who works away from home: lives where the work is, is
    /// registered at home.
    pub(super) fn send_away(&mut self, parent: &mut Member) {
        parent.current_address = self.work_address();
        parent.job = weighted(&mut self.rng, TABLES.jobs("外出"));
    }

    /// A family in the pool of the locality that can take one more child
    /// born on `birth` entering in `intake`: not an only child's, two
    /// children at most, in different grades, at least 400 days apart, the
    /// parents at least 20 years older.
    pub(super) fn sibling_family(&mut self, ctx: Ctx, birth: NaiveDate, intake: i32) -> Option<usize> {
        let pool = &self.pools[ctx.locality()];
        if pool.is_empty() {
            return None;
        }
        for _ in 0..4 {
            let f = pool[self.rng.random_range(0..pool.len())];
            let fam = &self.families[f];
            let fits = fam.uyghur.is_none()
                && !fam.only_child
                && (birth - fam.parents_born).num_days() >= 20 * 365
                && fam.children.len() == 1
                && fam.children.iter().all(|(b, i, _)| *i != intake && (*b - birth).num_days().abs() >= 400);
            if fits {
                return Some(f);
            }
        }
        None
    }
}

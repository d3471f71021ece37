//! A case's decisions (`case_steps`), recorded by the workflow or typed in
//! from paper, and the scans filed with it (`case_proofs`).

use super::*;

/// A decision recorded at a stage.
#[derive(Debug, Clone, Serialize)]
pub struct Step {
    /// Stage code.
    pub stage: Stage,
    /// Stage label.
    pub stage_label: &'static str,
    /// `approve` or `refuse`.
    pub decision: String,
    /// Opinion.
    pub opinion: String,
    /// Who signed.
    pub signer: String,
    /// Decided on.
    pub decided_on: String,
    /// Due on.
    pub due_on: Option<String>,
    /// After its deadline.
    pub late: bool,
    /// Recorded by hand from the other side's paper (proof scanned).
    pub by_hand: bool,
    /// The scanned proof of a decision recorded by hand.
    pub proof: Option<String>,
}

/// The decisions so far, in order.
pub async fn steps_of<'c>(e: impl Executor<'c, Database = Any>, case_id: i64) -> AppResult<Vec<Step>> {
    let rows = sqlx::query(
        "SELECT stage, decision, opinion, signer, decided_on, due_on, late, by_hand, proof
         FROM case_steps WHERE case_id = $1 ORDER BY id",
    )
    .bind(case_id)
    .fetch_all(e)
    .await?;
    rows.iter()
        .map(|r| {
            let stage = Stage::parse(&r.try_get::<String, _>("stage")?)?;
            Ok(Step {
                stage,
                stage_label: stage.label(),
                decision: r.try_get("decision")?,
                opinion: r.try_get("opinion")?,
                signer: r.try_get("signer")?,
                decided_on: r.try_get("decided_on")?,
                due_on: r.try_get("due_on")?,
                late: r.try_get::<i64, _>("late")? != 0,
                by_hand: r.try_get::<i64, _>("by_hand")? != 0,
                proof: r.try_get("proof")?,
            })
        })
        .collect()
}

/// A decision taken in this system at the waiting stage.
#[derive(Debug, Clone)]
pub struct NewStep<'a> {
    /// The case.
    pub case_id: i64,
    /// The stage decided.
    pub stage: Stage,
    /// `approve` or `refuse`.
    pub decision: &'a str,
    /// Opinion.
    pub opinion: &'a str,
    /// Who signed.
    pub signer: &'a str,
    /// Decided on, `YYYY-MM-DD`.
    pub decided_on: &'a str,
    /// The stage's deadline.
    pub due_on: Option<&'a str>,
    /// After its deadline.
    pub late: bool,
    /// Who recorded it.
    pub recorded_by: Option<i64>,
    /// The instant, RFC 3339.
    pub at: &'a str,
}

/// Records a decision taken in this system.
pub async fn insert_step<'c>(e: impl Executor<'c, Database = Any>, step: &NewStep<'_>) -> Result<(), sqlx::Error> {
    sqlx::query(
        "INSERT INTO case_steps (case_id, stage, decision, opinion, signer, decided_on, due_on, late, by_hand,
             proof, recorded_by, at)
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, 0, NULL, $9, $10)",
    )
    .bind(step.case_id)
    .bind(step.stage.code())
    .bind(step.decision)
    .bind(step.opinion)
    .bind(step.signer)
    .bind(step.decided_on)
    .bind(step.due_on)
    .bind(crate::db::flag(step.late))
    .bind(step.recorded_by)
    .bind(step.at)
    .execute(e)
    .await?;
    Ok(())
}

/// An approval of the other side, recorded by hand from its scanned paper.
#[derive(Debug, Clone)]
pub struct HandStep<'a> {
    /// The case.
    pub case_id: i64,
    /// The stage approved.
    pub stage: Stage,
    /// Opinion as written.
    pub opinion: &'a str,
    /// Who signed.
    pub signer: &'a str,
    /// The date on the paper, `YYYY-MM-DD`.
    pub decided_on: &'a str,
    /// The scanned paper's digest (in the student's dossier).
    pub proof: &'a str,
    /// Who recorded it.
    pub recorded_by: Option<i64>,
    /// The instant, RFC 3339.
    pub at: &'a str,
}

/// Records an approval of the other side by hand (never late: it has no deadline here).
pub async fn insert_step_by_hand<'c>(
    e: impl Executor<'c, Database = Any>,
    step: &HandStep<'_>,
) -> Result<(), sqlx::Error> {
    sqlx::query(
        "INSERT INTO case_steps (case_id, stage, decision, opinion, signer, decided_on, due_on, late, by_hand,
             proof, recorded_by, at)
         VALUES ($1, $2, 'approve', $3, $4, $5, NULL, 0, 1, $6, $7, $8)",
    )
    .bind(step.case_id)
    .bind(step.stage.code())
    .bind(step.opinion)
    .bind(step.signer)
    .bind(step.decided_on)
    .bind(step.proof)
    .bind(step.recorded_by)
    .bind(step.at)
    .execute(e)
    .await?;
    Ok(())
}

/// A scan filed with a case.
#[derive(Debug, Clone, Serialize)]
pub struct Proof {
    /// sha256 of the object in the student's dossier.
    pub digest: String,
    /// What it is (户口簿, 诊断证明, …).
    pub label: String,
}

/// The case's proofs, in the order filed.
pub async fn proofs_of<'c>(e: impl Executor<'c, Database = Any>, case_id: i64) -> AppResult<Vec<Proof>> {
    let rows = sqlx::query("SELECT digest, label FROM case_proofs WHERE case_id = $1 ORDER BY id")
        .bind(case_id)
        .fetch_all(e)
        .await?;
    rows.iter().map(|r| Ok(Proof { digest: r.try_get("digest")?, label: r.try_get("label")? })).collect()
}

/// How many proofs are filed with the case.
pub async fn proof_count<'c>(e: impl Executor<'c, Database = Any>, case_id: i64) -> Result<i64, sqlx::Error> {
    sqlx::query_scalar("SELECT COUNT(*) FROM case_proofs WHERE case_id = $1").bind(case_id).fetch_one(e).await
}

/// Files a scan (already in the student's dossier) with a case.
pub async fn add_proof<'c>(
    e: impl Executor<'c, Database = Any>,
    case_id: i64,
    digest: &str,
    label: &str,
    added_by: Option<i64>,
    at: &str,
) -> Result<(), sqlx::Error> {
    sqlx::query("INSERT INTO case_proofs (case_id, digest, label, added_by, at) VALUES ($1, $2, $3, $4, $5)")
        .bind(case_id)
        .bind(digest)
        .bind(label)
        .bind(added_by)
        .bind(at)
        .execute(e)
        .await?;
    Ok(())
}

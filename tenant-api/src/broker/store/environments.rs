//! Environments, and the versions deployed (one current version per pacticipant, environment and
//! application instance) and released (many supported at once) to them.

use chrono::{DateTime, Utc};
use serde_json::Value;
use sqlx::{FromRow, PgConnection};
use uuid::Uuid;

#[derive(Clone, Debug, FromRow)]
pub struct EnvironmentRecord {
    pub environment_id: i64,
    pub uuid: Uuid,
    pub name: String,
    pub display_name: Option<String>,
    pub production: bool,
    pub contacts: Option<Value>,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
}

const ENVIRONMENT_COLUMNS: &str =
    "environment_id, uuid, name, display_name, production, contacts, created_at, updated_at";

/// The writable properties of an environment.
#[derive(Clone, Debug, PartialEq)]
pub struct EnvironmentFields {
    pub name: String,
    pub display_name: Option<String>,
    pub production: bool,
    pub contacts: Option<Value>,
}

pub async fn find(conn: &mut PgConnection, uuid: Uuid) -> sqlx::Result<Option<EnvironmentRecord>> {
    sqlx::query_as(&format!(
        "select {ENVIRONMENT_COLUMNS} from environment where uuid = $1"
    ))
    .bind(uuid)
    .fetch_optional(conn)
    .await
}

pub async fn find_by_name(
    conn: &mut PgConnection,
    name: &str,
) -> sqlx::Result<Option<EnvironmentRecord>> {
    sqlx::query_as(&format!(
        "select {ENVIRONMENT_COLUMNS} from environment where name = $1"
    ))
    .bind(name)
    .fetch_optional(conn)
    .await
}

/// All environments, by display name (case-insensitive).
pub async fn list(conn: &mut PgConnection) -> sqlx::Result<Vec<EnvironmentRecord>> {
    sqlx::query_as(&format!(
        "select {ENVIRONMENT_COLUMNS} from environment order by lower(display_name), environment_id"
    ))
    .fetch_all(conn)
    .await
}

/// Creates an environment; `None` when its name is taken (`environment_name_key`).
pub async fn create(
    conn: &mut PgConnection,
    uuid: Uuid,
    fields: &EnvironmentFields,
) -> sqlx::Result<Option<EnvironmentRecord>> {
    sqlx::query_as(&format!(
        "insert into environment (uuid, name, display_name, production, contacts)
         values ($1, $2, $3, $4, $5) on conflict do nothing returning {ENVIRONMENT_COLUMNS}"
    ))
    .bind(uuid)
    .bind(&fields.name)
    .bind(&fields.display_name)
    .bind(fields.production)
    .bind(&fields.contacts)
    .fetch_optional(conn)
    .await
}

/// Replaces every writable property of the environment.
pub async fn replace(
    conn: &mut PgConnection,
    environment_id: i64,
    fields: &EnvironmentFields,
) -> sqlx::Result<EnvironmentRecord> {
    sqlx::query_as(&format!(
        "update environment set name = $2, display_name = $3, production = $4, contacts = $5
         where environment_id = $1 returning {ENVIRONMENT_COLUMNS}"
    ))
    .bind(environment_id)
    .bind(&fields.name)
    .bind(&fields.display_name)
    .bind(fields.production)
    .bind(&fields.contacts)
    .fetch_one(conn)
    .await
}

/// Deletes the environment with its deployment and release records.
pub async fn delete(conn: &mut PgConnection, environment_id: i64) -> sqlx::Result<()> {
    sqlx::query("delete from environment where environment_id = $1")
        .bind(environment_id)
        .execute(conn)
        .await
        .map(drop)
}

/// A deployed version with what its resource embeds: pacticipant, version and environment.
#[derive(Clone, Debug)]
pub struct DeployedVersionRecord {
    pub deployed_version_id: i64,
    pub uuid: Uuid,
    pub version_id: i64,
    pub version_number: String,
    pub pacticipant_name: String,
    pub application_instance: Option<String>,
    pub undeployed_at: Option<DateTime<Utc>>,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
    pub environment: EnvironmentRecord,
}

const DEPLOYED_SELECT: &str = "select d.deployed_version_id, d.uuid, d.version_id, v.number as version_number,
        p.name as pacticipant_name, d.application_instance, d.undeployed_at, d.created_at, d.updated_at,
        e.environment_id, e.uuid, e.name, e.display_name, e.production, e.contacts,
        e.created_at, e.updated_at
     from deployed_version d
     join version v on v.version_id = d.version_id
     join pacticipant p on p.pacticipant_id = d.pacticipant_id
     join environment e on e.environment_id = d.environment_id";

/// The environment columns of [`DEPLOYED_SELECT`] / [`RELEASED_SELECT`] share names with the
/// outer record's, so they are read by position instead of with `flatten`.
fn read_environment(row: &sqlx::postgres::PgRow, first: usize) -> sqlx::Result<EnvironmentRecord> {
    use sqlx::Row;
    Ok(EnvironmentRecord {
        environment_id: row.try_get(first)?,
        uuid: row.try_get(first + 1)?,
        name: row.try_get(first + 2)?,
        display_name: row.try_get(first + 3)?,
        production: row.try_get(first + 4)?,
        contacts: row.try_get(first + 5)?,
        created_at: row.try_get(first + 6)?,
        updated_at: row.try_get(first + 7)?,
    })
}

fn read_deployed(row: &sqlx::postgres::PgRow) -> sqlx::Result<DeployedVersionRecord> {
    use sqlx::Row;
    Ok(DeployedVersionRecord {
        deployed_version_id: row.try_get(0)?,
        uuid: row.try_get(1)?,
        version_id: row.try_get(2)?,
        version_number: row.try_get(3)?,
        pacticipant_name: row.try_get(4)?,
        application_instance: row.try_get(5)?,
        undeployed_at: row.try_get(6)?,
        created_at: row.try_get(7)?,
        updated_at: row.try_get(8)?,
        environment: read_environment(row, 9)?,
    })
}

async fn deployed_where(
    conn: &mut PgConnection,
    condition: &str,
    bind: impl FnOnce(
        sqlx::query::Query<'_, sqlx::Postgres, sqlx::postgres::PgArguments>,
    ) -> sqlx::query::Query<'_, sqlx::Postgres, sqlx::postgres::PgArguments>,
) -> sqlx::Result<Vec<DeployedVersionRecord>> {
    let sql = format!("{DEPLOYED_SELECT} where {condition}");
    let rows = bind(sqlx::query(&sql)).fetch_all(conn).await?;
    rows.iter().map(read_deployed).collect()
}

pub async fn find_deployed(
    conn: &mut PgConnection,
    uuid: Uuid,
) -> sqlx::Result<Option<DeployedVersionRecord>> {
    Ok(deployed_where(conn, "d.uuid = $1", |q| q.bind(uuid))
        .await?
        .into_iter()
        .next())
}

/// Which application instances a currently-deployed listing shows.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub enum InstanceFilter {
    #[default]
    Any,
    /// Only deployments without an application instance (a blank `applicationInstance=`).
    None,
    Named(String),
}

/// The versions currently deployed to the environment, newest deployment first.
pub async fn currently_deployed(
    conn: &mut PgConnection,
    environment_id: i64,
    pacticipant: Option<&str>,
    instance: &InstanceFilter,
) -> sqlx::Result<Vec<DeployedVersionRecord>> {
    let (instance_given, instance_name) = match instance {
        InstanceFilter::Any => (false, None),
        InstanceFilter::None => (true, None),
        InstanceFilter::Named(name) => (true, Some(name.clone())),
    };
    deployed_where(
        conn,
        "d.environment_id = $1 and d.undeployed_at is null
         and ($2::text is null or p.name = $2)
         and (not $3 or d.application_instance is not distinct from $4)
         order by d.created_at desc, d.deployed_version_id desc",
        |q| {
            q.bind(environment_id)
                .bind(pacticipant.map(str::to_owned))
                .bind(instance_given)
                .bind(instance_name)
        },
    )
    .await
}

/// Every deployment (current or not) of each of `version_ids`, oldest first.
pub async fn deployments_of_versions(
    conn: &mut PgConnection,
    version_ids: &[i64],
) -> sqlx::Result<Vec<DeployedVersionRecord>> {
    deployed_where(
        conn,
        "d.version_id = any($1) order by d.created_at, d.deployed_version_id",
        |q| q.bind(version_ids.to_vec()),
    )
    .await
}

/// The pacticipant's current deployments, oldest first.
pub async fn current_deployments_of_pacticipant(
    conn: &mut PgConnection,
    pacticipant_id: i64,
) -> sqlx::Result<Vec<DeployedVersionRecord>> {
    deployed_where(
        conn,
        "d.pacticipant_id = $1 and d.undeployed_at is null order by d.created_at, d.deployed_version_id",
        |q| q.bind(pacticipant_id),
    )
    .await
}

/// Records that `version_id` is deployed to the environment (as `application_instance`): the
/// current deployment of exactly that is returned as it is; otherwise the pacticipant's current
/// deployment there (same instance) is marked undeployed and a new one recorded.
pub async fn record_deployment(
    conn: &mut PgConnection,
    pacticipant_id: i64,
    version_id: i64,
    environment_id: i64,
    application_instance: Option<&str>,
    auto_created: bool,
) -> sqlx::Result<DeployedVersionRecord> {
    // Serialises deployments of one pacticipant (a row lock that publications do not wait for).
    sqlx::query("select 1 from pacticipant where pacticipant_id = $1 for no key update")
        .bind(pacticipant_id)
        .execute(&mut *conn)
        .await?;
    let current: Option<Uuid> = sqlx::query_scalar(
        "select uuid from deployed_version
         where pacticipant_id = $1 and environment_id = $2 and version_id = $3
           and application_instance is not distinct from $4 and undeployed_at is null",
    )
    .bind(pacticipant_id)
    .bind(environment_id)
    .bind(version_id)
    .bind(application_instance)
    .fetch_optional(&mut *conn)
    .await?;
    let uuid = match current {
        Some(uuid) => uuid,
        None => {
            sqlx::query(
                "update deployed_version set undeployed_at = now()
                 where pacticipant_id = $1 and environment_id = $2
                   and application_instance is not distinct from $3 and undeployed_at is null",
            )
            .bind(pacticipant_id)
            .bind(environment_id)
            .bind(application_instance)
            .execute(&mut *conn)
            .await?;
            let uuid = Uuid::new_v4();
            sqlx::query(
                "insert into deployed_version
                     (uuid, version_id, pacticipant_id, environment_id, application_instance, auto_created)
                 values ($1, $2, $3, $4, $5, $6)",
            )
            .bind(uuid)
            .bind(version_id)
            .bind(pacticipant_id)
            .bind(environment_id)
            .bind(application_instance)
            .bind(auto_created)
            .execute(&mut *conn)
            .await?;
            uuid
        }
    };
    find_deployed(conn, uuid)
        .await?
        .ok_or(sqlx::Error::RowNotFound)
}

/// Marks a deployment as no longer current (a no-op when it already is not).
pub async fn record_undeployment(
    conn: &mut PgConnection,
    deployed_version_id: i64,
) -> sqlx::Result<()> {
    sqlx::query(
        "update deployed_version set undeployed_at = now()
         where deployed_version_id = $1 and undeployed_at is null",
    )
    .bind(deployed_version_id)
    .execute(conn)
    .await
    .map(drop)
}

/// A released version with what its resource embeds: pacticipant, version and environment.
#[derive(Clone, Debug)]
pub struct ReleasedVersionRecord {
    pub released_version_id: i64,
    pub uuid: Uuid,
    pub version_id: i64,
    pub version_number: String,
    pub pacticipant_name: String,
    pub support_ended_at: Option<DateTime<Utc>>,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
    pub environment: EnvironmentRecord,
}

const RELEASED_SELECT: &str =
    "select r.released_version_id, r.uuid, r.version_id, v.number as version_number,
        p.name as pacticipant_name, r.support_ended_at, r.created_at, r.updated_at,
        e.environment_id, e.uuid, e.name, e.display_name, e.production, e.contacts,
        e.created_at, e.updated_at
     from released_version r
     join version v on v.version_id = r.version_id
     join pacticipant p on p.pacticipant_id = r.pacticipant_id
     join environment e on e.environment_id = r.environment_id";

fn read_released(row: &sqlx::postgres::PgRow) -> sqlx::Result<ReleasedVersionRecord> {
    use sqlx::Row;
    Ok(ReleasedVersionRecord {
        released_version_id: row.try_get(0)?,
        uuid: row.try_get(1)?,
        version_id: row.try_get(2)?,
        version_number: row.try_get(3)?,
        pacticipant_name: row.try_get(4)?,
        support_ended_at: row.try_get(5)?,
        created_at: row.try_get(6)?,
        updated_at: row.try_get(7)?,
        environment: read_environment(row, 8)?,
    })
}

async fn released_where(
    conn: &mut PgConnection,
    condition: &str,
    bind: impl FnOnce(
        sqlx::query::Query<'_, sqlx::Postgres, sqlx::postgres::PgArguments>,
    ) -> sqlx::query::Query<'_, sqlx::Postgres, sqlx::postgres::PgArguments>,
) -> sqlx::Result<Vec<ReleasedVersionRecord>> {
    let sql = format!("{RELEASED_SELECT} where {condition}");
    let rows = bind(sqlx::query(&sql)).fetch_all(conn).await?;
    rows.iter().map(read_released).collect()
}

pub async fn find_released(
    conn: &mut PgConnection,
    uuid: Uuid,
) -> sqlx::Result<Option<ReleasedVersionRecord>> {
    Ok(released_where(conn, "r.uuid = $1", |q| q.bind(uuid))
        .await?
        .into_iter()
        .next())
}

pub async fn find_release_of(
    conn: &mut PgConnection,
    version_id: i64,
    environment_id: i64,
) -> sqlx::Result<Option<ReleasedVersionRecord>> {
    Ok(
        released_where(conn, "r.version_id = $1 and r.environment_id = $2", |q| {
            q.bind(version_id).bind(environment_id)
        })
        .await?
        .into_iter()
        .next(),
    )
}

/// The versions currently supported in the environment, oldest release first.
pub async fn currently_supported(
    conn: &mut PgConnection,
    environment_id: i64,
    pacticipant: Option<&str>,
    version: Option<&str>,
) -> sqlx::Result<Vec<ReleasedVersionRecord>> {
    released_where(
        conn,
        "r.environment_id = $1 and r.support_ended_at is null
         and ($2::text is null or p.name = $2) and ($3::text is null or v.number = $3)
         order by r.created_at, r.released_version_id",
        |q| {
            q.bind(environment_id)
                .bind(pacticipant.map(str::to_owned))
                .bind(version.map(str::to_owned))
        },
    )
    .await
}

/// Every release (supported or not) of each of `version_ids`, oldest first.
pub async fn releases_of_versions(
    conn: &mut PgConnection,
    version_ids: &[i64],
) -> sqlx::Result<Vec<ReleasedVersionRecord>> {
    released_where(
        conn,
        "r.version_id = any($1) order by r.created_at, r.released_version_id",
        |q| q.bind(version_ids.to_vec()),
    )
    .await
}

/// Records the release of a version to an environment: the existing release of that version
/// there is supported again, or a new one is created. `true` when created.
pub async fn record_release(
    conn: &mut PgConnection,
    pacticipant_id: i64,
    version_id: i64,
    environment_id: i64,
) -> sqlx::Result<(ReleasedVersionRecord, bool)> {
    let created = sqlx::query(
        "insert into released_version (uuid, version_id, pacticipant_id, environment_id)
         values ($1, $2, $3, $4)
         on conflict on constraint released_version_version_environment_key do nothing",
    )
    .bind(Uuid::new_v4())
    .bind(version_id)
    .bind(pacticipant_id)
    .bind(environment_id)
    .execute(&mut *conn)
    .await?
    .rows_affected()
        == 1;
    if !created {
        sqlx::query(
            "update released_version set support_ended_at = null
             where version_id = $1 and environment_id = $2 and support_ended_at is not null",
        )
        .bind(version_id)
        .bind(environment_id)
        .execute(&mut *conn)
        .await?;
    }
    let record = find_release_of(conn, version_id, environment_id)
        .await?
        .ok_or(sqlx::Error::RowNotFound)?;
    Ok((record, created))
}

/// Marks a release as no longer supported (a no-op when it already is not).
pub async fn record_support_ended(
    conn: &mut PgConnection,
    released_version_id: i64,
) -> sqlx::Result<()> {
    sqlx::query(
        "update released_version set support_ended_at = now()
         where released_version_id = $1 and support_ended_at is null",
    )
    .bind(released_version_id)
    .execute(conn)
    .await
    .map(drop)
}

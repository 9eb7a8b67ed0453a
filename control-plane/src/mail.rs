//! Sending e-mail: over SMTP with lettre when `SMTP_HOST` is set, otherwise — in development
//! only — as `.eml` files in `MAIL_DIR` (default `.data/mail/`), so `make run` works without a
//! mail server and a newcomer can open their confirmation link from a file.
//!
//! Messages with single-use links are sent straight from the request (on a spawned task, so the
//! response time says nothing about whether an account exists) and are never stored or logged;
//! notices without secrets go through the durable [`crate::outbox`].

use std::path::PathBuf;
use std::time::Duration;

use anyhow::{bail, Context};
use lettre::message::header::ContentType;
use lettre::message::Mailbox;
use lettre::transport::smtp::authentication::Credentials;
use lettre::transport::smtp::PoolConfig;
use lettre::{AsyncFileTransport, AsyncSmtpTransport, AsyncTransport, Message, Tokio1Executor};
use provisioning::settings::Environment;
use secrecy::{ExposeSecret, SecretString};

/// How the SMTP connection is secured.
#[derive(Clone, Copy, Debug, PartialEq, Eq, clap::ValueEnum)]
pub enum SmtpTls {
    /// Plain text (local sinks only).
    None,
    /// STARTTLS, required (port 587).
    Starttls,
    /// Implicit TLS (port 465).
    Tls,
}

#[derive(Clone, Debug, clap::Args)]
pub struct MailSettings {
    /// SMTP server; without it, development writes mail to MAIL_DIR and production refuses to
    /// start.
    #[arg(long, env = "SMTP_HOST")]
    pub smtp_host: Option<String>,
    /// SMTP port (default: 25 without TLS, 587 with STARTTLS, 465 with TLS).
    #[arg(long, env = "SMTP_PORT")]
    pub smtp_port: Option<u16>,
    /// `none`, `starttls` or `tls`.
    #[arg(long, env = "SMTP_TLS", value_enum, default_value = "starttls")]
    pub smtp_tls: SmtpTls,
    #[arg(long, env = "SMTP_USERNAME")]
    pub smtp_username: Option<String>,
    #[arg(long, env = "SMTP_PASSWORD", value_parser = secret)]
    pub smtp_password: Option<SecretString>,
    /// The From: of every message.
    #[arg(
        long,
        env = "MAIL_FROM",
        default_value = "Treaty <no-reply@treaty.localhost>"
    )]
    pub mail_from: String,
    /// Where development writes messages when no SMTP server is configured.
    #[arg(long, env = "MAIL_DIR", default_value = ".data/mail")]
    pub mail_dir: PathBuf,
}

fn secret(value: &str) -> Result<SecretString, std::convert::Infallible> {
    Ok(SecretString::from(value.to_owned()))
}

/// One message to one person.
#[derive(Clone, Debug)]
pub struct Email {
    pub to: String,
    pub subject: String,
    pub body: String,
    /// A stable Message-ID (outbox mails), so a resend after a crash can be recognised.
    pub message_id: Option<String>,
}

#[derive(Clone)]
pub struct Mailer {
    transport: Transport,
    from: Mailbox,
}

#[derive(Clone)]
enum Transport {
    Smtp(AsyncSmtpTransport<Tokio1Executor>),
    Files(AsyncFileTransport<Tokio1Executor>, PathBuf),
}

impl Mailer {
    pub fn new(settings: &MailSettings, environment: Environment) -> anyhow::Result<Self> {
        let from: Mailbox = settings
            .mail_from
            .parse()
            .with_context(|| format!("MAIL_FROM {:?} is not an address", settings.mail_from))?;
        let transport = match &settings.smtp_host {
            Some(host) => {
                let builder = match settings.smtp_tls {
                    SmtpTls::None => AsyncSmtpTransport::<Tokio1Executor>::builder_dangerous(host)
                        .port(settings.smtp_port.unwrap_or(25)),
                    SmtpTls::Starttls => AsyncSmtpTransport::<Tokio1Executor>::starttls_relay(host)
                        .context("SMTP_HOST")?
                        .port(settings.smtp_port.unwrap_or(587)),
                    SmtpTls::Tls => AsyncSmtpTransport::<Tokio1Executor>::relay(host)
                        .context("SMTP_HOST")?
                        .port(settings.smtp_port.unwrap_or(465)),
                };
                let builder = match (&settings.smtp_username, &settings.smtp_password) {
                    (Some(user), Some(password)) => builder.credentials(Credentials::new(
                        user.clone(),
                        password.expose_secret().to_owned(),
                    )),
                    (None, None) => builder,
                    _ => bail!("SMTP_USERNAME and SMTP_PASSWORD go together"),
                };
                Transport::Smtp(
                    builder
                        .timeout(Some(Duration::from_secs(10)))
                        .pool_config(PoolConfig::new().max_size(4))
                        .build(),
                )
            }
            None if environment == Environment::Development => {
                std::fs::create_dir_all(&settings.mail_dir).with_context(|| {
                    format!("creating MAIL_DIR {}", settings.mail_dir.display())
                })?;
                Transport::Files(
                    AsyncFileTransport::<Tokio1Executor>::new(&settings.mail_dir),
                    settings.mail_dir.clone(),
                )
            }
            None => bail!("SMTP_HOST is required outside development (TREATY_ENV=production)"),
        };
        Ok(Self { transport, from })
    }

    /// Sends `email` now.
    pub async fn send(&self, email: &Email) -> anyhow::Result<()> {
        let to: Mailbox = email
            .to
            .parse()
            .with_context(|| "recipient is not a valid address")?;
        let mut builder = Message::builder()
            .from(self.from.clone())
            .to(to)
            .subject(&email.subject)
            .header(ContentType::TEXT_PLAIN);
        if let Some(id) = &email.message_id {
            builder = builder.message_id(Some(id.clone()));
        }
        let message = builder
            .body(email.body.clone())
            .context("building the message")?;
        match &self.transport {
            Transport::Smtp(smtp) => {
                smtp.send(message).await.context("sending over SMTP")?;
            }
            Transport::Files(files, dir) => {
                let id = files
                    .send(message)
                    .await
                    .context("writing the message file")?;
                tracing::info!(
                    mail.file = %dir.join(format!("{id}.eml")).display(),
                    "development mail ({}) written to {}",
                    email.subject,
                    dir.join(format!("{id}.eml")).display()
                );
            }
        }
        Ok(())
    }

    /// Sends `email` on a task of its own: the caller's response must not wait for (or reveal)
    /// the mail. Failures are logged without the message, which may hold a link.
    pub fn send_in_background(&self, email: Email, what: &'static str) {
        let mailer = self.clone();
        tokio::spawn(async move {
            if let Err(err) = mailer.send(&email).await {
                tracing::warn!(mail.kind = what, error = %format!("{err:#}"), "could not send the {what} e-mail");
            }
        });
    }
}

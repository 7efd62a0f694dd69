//! How a notice reaches people: channel configurations (email, or any HTTP
//! call), their templates rendered in a sandbox, ready presets for common
//! services, and the rules for which addresses a webhook may reach. Pure:
//! the server does the sending.

#![forbid(unsafe_code)]

pub mod channel;
pub mod context;
pub mod presets;
pub mod target;

pub use channel::{
    CallTemplate, ChannelConfig, ChannelError, Email, EmailChannel, Escape, HttpCall,
    WebhookChannel,
};
pub use context::{Context, context};
pub use presets::Preset;

/// Body of a webhook with no body template: the whole context as JSON.
pub const DEFAULT_JSON_BODY: &str = r#"{"title": {{ title }}, "host": {{ host }}, "host_id": {{ host_id }}, "kind": {{ kind }}, "severity": {{ severity }}, "recovered": {{ recovered }}, "link": {{ link }}, "time": {{ time }}, "events": {{ events }}}"#;

impl ChannelConfig {
    /// Checks the channel renders: its templates compile and produce a
    /// valid request from `sample`. Addresses are the server's to check.
    pub fn check(&self, sample: &Context) -> Result<(), ChannelError> {
        match self {
            ChannelConfig::Email(email) => {
                if email.to.is_empty() {
                    return Err(ChannelError(
                        "an email channel needs at least one address in \"to\"".into(),
                    ));
                }
                for to in &email.to {
                    let ok = to.split_once('@').is_some_and(|(user, domain)| {
                        !user.is_empty()
                            && domain.contains('.')
                            && !to.contains(char::is_whitespace)
                    });
                    if !ok {
                        return Err(ChannelError(format!("{to:?} is not an email address")));
                    }
                }
                email.render(sample).map(drop)
            }
            ChannelConfig::Webhook(hook) => {
                let mut ctx = sample.clone();
                ctx.params.clone_from(&hook.params);
                hook.call()?.render(&ctx).map(drop)
            }
        }
    }
}

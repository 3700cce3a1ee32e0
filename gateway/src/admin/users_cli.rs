//! `floe admin user ...`, `floe admin key ...` and `floe admin policy ...`: managing who may
//! sign requests, printed as a table or, with `--json`, as the API's JSON.

use clap::Subcommand;
use serde::Serialize;

use super::client::{AdminClient, AdminError};
use super::{KeyLine, UserLine};

#[derive(Debug, Subcommand)]
pub enum UserCommand {
    /// Every user, its policies and its keys.
    List {
        #[arg(long)]
        json: bool,
    },
    /// Creates a user, or sets an existing user's policies.
    Add {
        name: String,
        /// A canned (readonly, readwrite, writeonly, admin) or stored policy; repeatable.
        #[arg(long = "policy")]
        policies: Vec<String>,
        #[arg(long)]
        json: bool,
    },
    /// Deletes a user and every key of it.
    Remove { name: String },
}

#[derive(Debug, Subcommand)]
pub enum KeyCommand {
    /// Access keys (no secrets), of one user or all.
    List {
        #[arg(long)]
        user: Option<String>,
        #[arg(long)]
        json: bool,
    },
    /// A new key pair for a user; its secret is shown this once.
    Create {
        user: String,
        /// Make it temporary: it stops working after this many seconds.
        #[arg(long)]
        expires_secs: Option<u64>,
        #[arg(long)]
        json: bool,
    },
    /// Refuses the key on its next request, on every gateway.
    Disable { access_key: String },
    /// Lets a disabled key sign again.
    Enable { access_key: String },
    /// Deletes the key for good.
    Delete { access_key: String },
}

#[derive(Debug, Subcommand)]
pub enum PolicyCommand {
    /// Canned and stored policies.
    List {
        #[arg(long)]
        json: bool,
    },
    /// Stores an identity policy (AWS JSON policy language) from a file, `-` for stdin.
    Put { name: String, file: String },
    /// Deletes a stored policy.
    Delete { name: String },
}

fn print_json(value: &impl Serialize) {
    match serde_json::to_string_pretty(value) {
        Ok(text) => println!("{text}"),
        Err(e) => eprintln!("cannot print JSON: {e}"),
    }
}

fn state(enabled: bool) -> &'static str {
    if enabled { "enabled" } else { "disabled" }
}

fn print_keys(keys: &[KeyLine]) {
    println!("{:<24} {:<20} {:<9} EXPIRES", "ACCESS KEY", "USER", "STATE");
    for k in keys {
        let expires = k
            .expires
            .map_or_else(|| "never".to_owned(), |at| format!("{at} (unix ms)"));
        println!(
            "{:<24} {:<20} {:<9} {expires}",
            k.access_key,
            k.user,
            state(k.enabled)
        );
    }
}

fn print_users(users: &[UserLine]) {
    println!("{:<20} {:<30} KEYS", "USER", "POLICIES");
    for u in users {
        let keys: Vec<String> = u
            .keys
            .iter()
            .map(|k| match k.enabled {
                true => k.access_key.clone(),
                false => format!("{} (disabled)", k.access_key),
            })
            .collect();
        println!(
            "{:<20} {:<30} {}",
            u.name,
            u.policies.join(","),
            keys.join(" ")
        );
    }
}

pub async fn user(client: &AdminClient, command: UserCommand) -> Result<(), AdminError> {
    match command {
        UserCommand::List { json } => {
            let users = client.users().await?;
            match json {
                true => print_json(&users),
                false => print_users(&users),
            }
        }
        UserCommand::Add {
            name,
            policies,
            json,
        } => {
            let user = client.put_user(&name, &policies).await?;
            match json {
                true => print_json(&user),
                false => print_users(std::slice::from_ref(&user)),
            }
        }
        UserCommand::Remove { name } => {
            client.delete_user(&name).await?;
            println!("user {name} and its keys deleted");
        }
    }
    Ok(())
}

pub async fn key(client: &AdminClient, command: KeyCommand) -> Result<(), AdminError> {
    match command {
        KeyCommand::List { user, json } => {
            let keys = client.keys(user.as_deref()).await?;
            match json {
                true => print_json(&keys),
                false => print_keys(&keys),
            }
        }
        KeyCommand::Create {
            user,
            expires_secs,
            json,
        } => {
            let key = client.create_key(&user, expires_secs).await?;
            match json {
                true => print_json(&key),
                false => {
                    println!("user:              {}", key.user);
                    println!("access key id:     {}", key.access_key);
                    println!("secret access key: {}", key.secret_key);
                    println!("(the secret is not shown again)");
                }
            }
        }
        KeyCommand::Disable { access_key } => {
            print_keys(&[client.set_key_enabled(&access_key, false).await?]);
        }
        KeyCommand::Enable { access_key } => {
            print_keys(&[client.set_key_enabled(&access_key, true).await?]);
        }
        KeyCommand::Delete { access_key } => {
            client.delete_key(&access_key).await?;
            println!("access key {access_key} deleted");
        }
    }
    Ok(())
}

pub async fn policy(client: &AdminClient, command: PolicyCommand) -> Result<(), AdminError> {
    match command {
        PolicyCommand::List { json } => {
            let policies = client.policies().await?;
            if json {
                print_json(&policies);
                return Ok(());
            }
            for p in policies {
                let kind = if p.canned { "canned" } else { "stored" };
                println!("{:<24} {kind}", p.name);
            }
        }
        PolicyCommand::Put { name, file } => {
            let read = match file.as_str() {
                "-" => std::io::read_to_string(std::io::stdin()),
                path => std::fs::read_to_string(path),
            };
            let document = read.map_err(|e| AdminError::Refused {
                status: http::StatusCode::BAD_REQUEST,
                message: format!("cannot read {file}: {e}"),
            })?;
            client.put_policy(&name, &document).await?;
            println!("policy {name} stored");
        }
        PolicyCommand::Delete { name } => {
            client.delete_policy(&name).await?;
            println!("policy {name} deleted");
        }
    }
    Ok(())
}

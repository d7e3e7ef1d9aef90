//! The command line, defined once. Every flag that names a setting also reads
//! `SFAUTH_<NAME>`. No flag takes a secret: secrets come from files, env vars or stdin.

use std::path::PathBuf;
use std::time::Duration;

use clap::{Args, Parser, Subcommand, ValueEnum};

/// Salesforce OAuth tokens for scripts, CI and people: refreshed safely, served fast.
#[derive(Debug, Parser)]
#[command(
    name = "sfauth",
    disable_help_subcommand = true,
    version = concat!(env!("CARGO_PKG_VERSION"), " (", env!("SFAUTH_COMMIT"), ")"),
    about,
    max_term_width = 100,
    after_help = crate::exit::help()
)]
pub struct Cli {
    /// What to do.
    #[command(subcommand)]
    pub command: Command,

    /// Log more on stderr: -v info, -vv debug, -vvv trace (beats SFAUTH_LOG).
    #[arg(short, long, action = clap::ArgAction::Count, global = true, conflicts_with = "quiet")]
    pub verbose: u8,

    /// Log errors only (beats SFAUTH_LOG).
    #[arg(short, long, global = true)]
    pub quiet: bool,
}

/// The subcommands.
#[derive(Debug, Subcommand)]
pub enum Command {
    /// Refresh the token now and save it (rotation-safe, one refresh at a time).
    #[command(
        after_help = "Examples:\n  sfauth refresh --org prod\n  sfauth refresh --token-file _salesforce.json --client-id \"$CONSUMER_KEY\" --json"
    )]
    Refresh(RefreshArgs),
    /// Print a valid access token, refreshing it only when it is stale.
    #[command(
        after_help = "Examples:\n  sfauth token --org prod\n  eval \"$(sfauth token --org prod --format env)\""
    )]
    Token(TokenArgs),
    /// Print `Authorization: Bearer <token>`, for curl -H "$(sfauth header)".
    #[command(
        after_help = "Example:\n  curl -H \"$(sfauth header --org prod)\" \"$SF_INSTANCE_URL/services/data/\""
    )]
    Header(HeaderArgs),
    /// Run a command with SF_ACCESS_TOKEN, SF_INSTANCE_URL (and SF_ORG_INSTANCE_URL,
    /// SF_API_INSTANCE_URL) and SF_ORG_ALIAS set.
    #[command(
        after_help = "Example:\n  sfauth exec --org prod -- sh -c 'curl -H \"Authorization: Bearer $SF_ACCESS_TOKEN\" \"$SF_INSTANCE_URL/services/data/\"'"
    )]
    Exec(ExecArgs),
    /// An authenticated REST call; refreshes once if the session expired.
    #[command(
        after_help = "Examples:\n  sfauth request --org prod /services/data/v62.0/limits\n  sfauth request --org prod -X POST --data @account.json /services/data/v62.0/sobjects/Account"
    )]
    Request(RequestArgs),
    /// Run the whole job against a built-in Salesforce emulator: no org needed (in builds
    /// with the `demo` feature).
    #[command(
        after_help = "Example:\n  cargo run -p sfauth-cli --features demo -- demo --callers 8"
    )]
    Demo(DemoArgs),
    /// Store an org under an alias, by one of Salesforce's login flows.
    #[command(
        after_help = "Examples:\n  sfauth login web --alias prod --client-id \"$CONSUMER_KEY\"\n  sfauth login sf --alias dev --from my-scratch-org"
    )]
    Login(LoginArgs),
    /// List the stored orgs.
    #[command(
        after_help = "Examples:\n  sfauth orgs\n  sfauth orgs --sf\n  sfauth orgs --json | jq -r '.[].alias'"
    )]
    Orgs(ListArgs),
    /// Show one org's details, with its token redacted.
    Status(StatusArgs),
    /// Revoke the org's refresh token (and its access tokens) at Salesforce.
    #[command(
        after_help = "Examples:\n  sfauth revoke --org prod\n  sfauth revoke --org prod --access-token-only"
    )]
    Revoke(RevokeArgs),
    /// Revoke at Salesforce, then forget the org and delete its token.
    #[command(
        after_help = "Examples:\n  sfauth logout --org prod\n  sfauth logout --org old-sandbox --local-only --yes"
    )]
    Logout(LogoutArgs),
    /// Print the org as an SFDX auth URL (force://...). Prints a secret; single-use when the
    /// refresh token rotates (for CI, prefer `login jwt`).
    #[command(after_help = "Example:\n  sfauth export --org ci --format sfdx-url > auth-url.txt")]
    Export(ExportArgs),
    /// Work with a token store many machines share (PostgreSQL, Redis): import, export,
    /// list, delete, init.
    #[command(
        after_help = "Examples:\n  sfauth store init --store postgres://sfauth@db.internal/tokens\n  sfauth store list --store redis://127.0.0.1:6379/0 --json"
    )]
    Store(StoreCommandArgs),
    /// Keep orgs' tokens fresh ahead of expiry and serve them on a private unix socket;
    /// `token`, `header`, `exec` and `request` use it when it answers.
    #[command(
        after_help = "Examples:\n  sfauth agent\n  sfauth agent --org prod --sink prod=/run/app/token"
    )]
    Agent(AgentArgs),
    /// Forward HTTP requests from loopback to an org's instance with its token added, so
    /// that Postman, notebooks and other tools call Salesforce without seeing the token.
    #[command(
        after_help = "Examples:\n  sfauth proxy --org prod --listen 127.0.0.1:8701\n  curl http://127.0.0.1:8701/services/data/"
    )]
    Proxy(ProxyArgs),
    /// Open the org in a browser, logged in, through a single-use frontdoor URL (as
    /// `sf org open` does).
    Open(OpenArgs),
    /// Show the default org, or make ALIAS the default (`--unset` clears it).
    Default(DefaultArgs),
    /// Rename an org's alias, or unset one (the org is forgotten, its token left in place).
    #[command(
        after_help = "Examples:\n  sfauth alias rename prod prod-eu\n  sfauth alias unset old-sandbox"
    )]
    Alias(AliasCommandArgs),
    /// Show where sfauth keeps its files and what each setting resolves to, and from where
    /// (flag, env, config, default). No secret is shown.
    Config(ConfigArgs),
    /// Help on a command, or on a topic: `environment` (the variables sfauth reads) or
    /// `exit-codes`.
    Help(HelpArgs),
    /// Print a shell completion script: bash, zsh, fish or powershell.
    Completions(CompletionsArgs),
    /// Print the man page (roff), or write one per command into --dir.
    Man(ManArgs),
}

/// `sfauth open`.
#[derive(Debug, Args)]
#[command(after_help = "Examples:\n  \
    sfauth open --org prod\n  \
    sfauth open --org prod --path /lightning/setup/SetupOneHome/home\n  \
    sfauth open --org prod --url-only    # print the single-use URL instead")]
pub struct OpenArgs {
    #[command(flatten)]
    pub target: TargetArgs,
    /// The page to open, a path in the org (default: its home page).
    #[arg(long, short = 'p', value_name = "PATH")]
    pub path: Option<String>,
    /// Print the URL instead of opening it. It logs anyone in once: treat it as a secret.
    #[arg(long, short = 'r')]
    pub url_only: bool,
    /// The browser to open it in (default: the system's, or $BROWSER).
    #[arg(long, short = 'b', value_enum)]
    pub browser: Option<OpenBrowser>,
    /// Print JSON on stdout (it holds the URL). A flag only: an exported SFAUTH_JSON does
    /// not turn opening into printing a credential.
    #[arg(long)]
    pub json: bool,
}

/// The browsers `sfauth open --browser` names.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum OpenBrowser {
    /// Google Chrome.
    Chrome,
    /// Mozilla Firefox.
    Firefox,
    /// Safari.
    Safari,
    /// Opera.
    Opera,
}

/// `sfauth default`.
#[derive(Debug, Args)]
#[command(
    after_help = "Examples:\n  sfauth default            # prints the default org\n  sfauth default prod       # makes prod the default\n  sfauth default --unset"
)]
pub struct DefaultArgs {
    /// The org to make the default.
    #[arg(value_name = "ALIAS", conflicts_with = "unset")]
    pub alias: Option<String>,
    /// Clear the default org.
    #[arg(long)]
    pub unset: bool,
    /// Print JSON on stdout.
    #[arg(long, env = "SFAUTH_JSON", value_parser = clap::builder::BoolishValueParser::new())]
    pub json: bool,
}

/// `sfauth alias`.
#[derive(Debug, Args)]
pub struct AliasCommandArgs {
    /// What to do.
    #[command(subcommand)]
    pub action: AliasAction,

    /// Print what was done as JSON on stdout.
    #[arg(long, global = true, env = "SFAUTH_JSON", value_parser = clap::builder::BoolishValueParser::new())]
    pub json: bool,
}

/// `sfauth alias` subcommands.
#[derive(Debug, Subcommand)]
pub enum AliasAction {
    /// Rename an org: its token stays where it is, and stays the default if it was.
    #[command(after_help = "Example:\n  sfauth alias rename prod prod-eu")]
    Rename {
        /// The org's alias now.
        #[arg(value_name = "OLD")]
        old: String,
        /// Its new alias.
        #[arg(value_name = "NEW")]
        new: String,
    },
    /// Forget an alias: the org is no longer named, and its token is left where it is (not
    /// revoked, not deleted; `logout` does both).
    #[command(after_help = "Example:\n  sfauth alias unset old-sandbox")]
    Unset {
        /// The alias.
        #[arg(value_name = "ALIAS")]
        alias: String,
    },
}

/// `sfauth config`.
#[derive(Debug, Args)]
#[command(after_help = "Examples:\n  sfauth config\n  sfauth config --org prod --json")]
pub struct ConfigArgs {
    #[command(flatten)]
    pub select: OrgSelection,
    /// Print JSON on stdout.
    #[arg(long, env = "SFAUTH_JSON", value_parser = clap::builder::BoolishValueParser::new())]
    pub json: bool,
}

/// `sfauth help`.
#[derive(Debug, Args)]
#[command(
    after_help = "Examples:\n  sfauth help environment\n  sfauth help exit-codes\n  sfauth help login web"
)]
pub struct HelpArgs {
    /// A topic (`environment`, `exit-codes`) or a command, e.g. `login web`.
    #[arg(value_name = "TOPIC")]
    pub topic: Vec<String>,
}

/// `sfauth completions`.
#[derive(Debug, Args)]
#[command(after_help = "Examples:\n  \
    sfauth completions bash > ~/.local/share/bash-completion/completions/sfauth\n  \
    sfauth completions zsh > \"${fpath[1]}/_sfauth\"\n  \
    sfauth completions fish > ~/.config/fish/completions/sfauth.fish")]
pub struct CompletionsArgs {
    /// The shell.
    #[arg(value_enum)]
    pub shell: CompletionShell,
}

/// The shells `sfauth completions` writes for.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum CompletionShell {
    /// Bash.
    Bash,
    /// Zsh.
    Zsh,
    /// Fish.
    Fish,
    /// PowerShell.
    Powershell,
}

/// `sfauth man`.
#[derive(Debug, Args)]
#[command(after_help = "Examples:\n  \
    sfauth man | man -l -\n  \
    sfauth man --dir ~/.local/share/man/man1")]
pub struct ManArgs {
    /// Write sfauth.1 and a page per command (sfauth-token.1, …) into this directory
    /// instead of printing sfauth.1.
    #[arg(long, value_name = "DIR")]
    pub dir: Option<PathBuf>,
}

/// `sfauth proxy`.
#[derive(Debug, Args)]
pub struct ProxyArgs {
    #[command(flatten)]
    pub target: TargetArgs,

    /// Where to listen: a loopback address and port (127.0.0.1:8701, [::1]:8701,
    /// localhost:8701) or a port alone; port 0 takes a free one. The URL is printed on
    /// stdout once the proxy serves.
    #[arg(
        long,
        env = "SFAUTH_PROXY_LISTEN",
        value_name = "ADDR:PORT",
        default_value = "127.0.0.1:8701"
    )]
    pub listen: String,

    /// Answer only requests that carry this header, against other local users and web
    /// pages: NAME:VALUE, or NAME:@FILE to read the value from a file. On the command line
    /// the value shows in `ps`: prefer @FILE or the env variable.
    #[arg(
        long,
        env = "SFAUTH_PROXY_REQUIRE_HEADER",
        value_name = "NAME:VALUE",
        value_parser = |s: &str| Ok::<_, std::convert::Infallible>(sfauth::Secret::from(s))
    )]
    pub require_header: Option<sfauth::Secret<String>>,
}

/// `sfauth agent`.
#[derive(Debug, Args)]
pub struct AgentArgs {
    /// An org to serve (repeat, or comma-separate in SFAUTH_AGENT_ORGS); default: every
    /// org in the config, again at each SIGHUP.
    #[arg(
        long = "org",
        value_name = "ALIAS",
        env = "SFAUTH_AGENT_ORGS",
        value_delimiter = ','
    )]
    pub orgs: Vec<String>,

    /// The socket to serve on; default $XDG_RUNTIME_DIR/sfauth/agent.sock, else
    /// agent.sock in a private directory under SFAUTH_HOME.
    #[arg(long, env = "SFAUTH_AGENT_SOCKET", value_name = "PATH")]
    pub socket: Option<PathBuf>,

    /// Also write an org's token to a file (0600, atomically) at start and after every
    /// refresh: ALIAS=PATH, with :bare (default), :header, :env or :json after the path.
    /// Repeat, or comma-separate in SFAUTH_AGENT_SINKS.
    #[arg(
        long = "sink",
        value_name = "ALIAS=PATH[:FORMAT]",
        env = "SFAUTH_AGENT_SINKS",
        value_delimiter = ','
    )]
    pub sinks: Vec<String>,

    #[command(flatten)]
    pub http: HttpArgs,
}

/// `sfauth store`.
#[derive(Debug, Args)]
pub struct StoreCommandArgs {
    /// What to do with the store.
    #[command(subcommand)]
    pub action: StoreAction,
}

/// The `sfauth store` subcommands.
#[derive(Debug, Subcommand)]
pub enum StoreAction {
    /// Create what the store needs (PostgreSQL: its table) and check its settings (Redis:
    /// whether a crash can lose the last writes). Safe to run again.
    #[command(
        after_help = "Example:\n  sfauth store init --store postgres://sfauth@db.internal/tokens"
    )]
    Init(StoreTargetArgs),
    /// Copy a token JSON (the seeds' format, or an sfauth token file) into the store under
    /// the key, under the store's lock: a developer's login becomes the fleet's.
    #[command(
        after_help = "Example:\n  sfauth store import --store redis://127.0.0.1:6379/0 --store-key prod token.json"
    )]
    Import(StoreImportArgs),
    /// Print the token JSON the store holds under the key. Prints a secret.
    #[command(
        after_help = "Example:\n  sfauth store export --store redis://127.0.0.1:6379/0 --store-key prod > token.json"
    )]
    Export(StoreTargetArgs),
    /// List the keys the store holds, with their age; no secrets.
    #[command(
        after_help = "Example:\n  sfauth store list --store postgres://sfauth@db.internal/tokens"
    )]
    List(StoreListArgs),
    /// Delete the token under the key, under the store's lock.
    #[command(
        after_help = "Example:\n  sfauth store delete --store redis://127.0.0.1:6379/0 --store-key old"
    )]
    Delete(StoreTargetArgs),
}

/// The store and key a `sfauth store` subcommand works on.
#[derive(Debug, Args)]
pub struct StoreTargetArgs {
    #[command(flatten)]
    pub store: StoreArgs,

    #[command(flatten)]
    pub http: HttpArgs,

    /// Print what was done as JSON on stdout (export prints the token's JSON either way).
    #[arg(long, env = "SFAUTH_JSON", value_parser = clap::builder::BoolishValueParser::new())]
    pub json: bool,
}

/// `sfauth store import`.
#[derive(Debug, Args)]
pub struct StoreImportArgs {
    #[command(flatten)]
    pub target: StoreTargetArgs,

    /// The token JSON file, or `-` for stdin.
    #[arg(value_name = "FILE|-")]
    pub file: PathBuf,
}

/// `sfauth store list`.
#[derive(Debug, Args)]
pub struct StoreListArgs {
    #[command(flatten)]
    pub target: StoreTargetArgs,
}

/// `sfauth revoke`.
#[derive(Debug, Args)]
pub struct RevokeArgs {
    #[command(flatten)]
    pub select: OrgSelection,

    /// Revoke only the current access token, not the refresh token.
    #[arg(long)]
    pub access_token_only: bool,

    /// Print what was revoked as JSON on stdout.
    #[arg(long, env = "SFAUTH_JSON", value_parser = clap::builder::BoolishValueParser::new())]
    pub json: bool,

    #[command(flatten)]
    pub http: HttpArgs,
}

/// `sfauth logout`.
#[derive(Debug, Args)]
pub struct LogoutArgs {
    #[command(flatten)]
    pub select: OrgSelection,

    /// Forget the org without revoking at Salesforce (e.g. when it cannot be reached).
    #[arg(long)]
    pub local_only: bool,

    /// Do not ask for confirmation on a terminal (`--no-prompt` is the Salesforce CLI's
    /// spelling). Without a terminal, logging out of the default org without naming it
    /// needs this.
    #[arg(long, short = 'y', visible_alias = "no-prompt")]
    pub yes: bool,

    /// Print what was done as JSON on stdout.
    #[arg(long, env = "SFAUTH_JSON", value_parser = clap::builder::BoolishValueParser::new())]
    pub json: bool,

    #[command(flatten)]
    pub http: HttpArgs,
}

/// Export formats.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum ExportFormat {
    /// `force://<clientId>:<clientSecret>:<refreshToken>@<instance>`.
    SfdxUrl,
}

/// `sfauth export`.
#[derive(Debug, Args)]
pub struct ExportArgs {
    #[command(flatten)]
    pub select: OrgSelection,

    /// The format.
    #[arg(long, value_enum)]
    pub format: ExportFormat,
}

/// `sfauth orgs`.
#[derive(Debug, Args)]
pub struct ListArgs {
    /// List the Salesforce CLI's orgs (~/.sfdx) instead: aliases, usernames, the default
    /// target org. No secret is read.
    #[arg(long)]
    pub sf: bool,

    /// Print JSON on stdout.
    #[arg(long, env = "SFAUTH_JSON", value_parser = clap::builder::BoolishValueParser::new())]
    pub json: bool,
}

/// `sfauth status`.
#[derive(Debug, Args)]
#[command(
    after_help = "Examples:\n  sfauth status --org prod\n  sfauth status --org prod --json | jq -r .expires_at\n  sfauth status --org prod --format sf | jq -r .result.instanceUrl   # as sf org display --json"
)]
pub struct StatusArgs {
    #[command(flatten)]
    pub select: OrgSelection,

    /// Print JSON on stdout.
    #[arg(long, env = "SFAUTH_JSON", value_parser = clap::builder::BoolishValueParser::new())]
    pub json: bool,

    /// `sf`: the shape of `sf org display --json` (`{"status": 0, "result": {…}}`), for
    /// scripts written against it; the access token is redacted, as sf redacts it.
    #[arg(long, value_enum, conflicts_with = "json")]
    pub format: Option<StatusFormat>,
}

/// `sfauth status --format`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum StatusFormat {
    /// Lines for people.
    Human,
    /// sfauth's JSON (as --json).
    Json,
    /// `sf org display --json`'s shape.
    Sf,
}

/// `sfauth login <flow>`.
#[derive(Debug, Args)]
pub struct LoginArgs {
    /// The flow.
    #[command(subcommand)]
    pub flow: LoginFlow,
}

/// What every login stores the org under, and how it talks to Salesforce.
#[derive(Debug, Args)]
pub struct AliasArgs {
    /// The name to store the org under.
    #[arg(long, short = 'a', value_name = "ALIAS")]
    pub alias: String,

    /// Make it the default org.
    #[arg(long)]
    pub set_default: bool,

    /// Print what was stored as JSON on stdout (no secret).
    #[arg(long, env = "SFAUTH_JSON", value_parser = clap::builder::BoolishValueParser::new())]
    pub json: bool,

    #[command(flatten)]
    pub store: StoreArgs,

    #[command(flatten)]
    pub http: HttpArgs,
}

/// A login whose connected app the flags name.
#[derive(Debug, Args)]
pub struct AppLoginArgs {
    #[command(flatten)]
    pub org: AliasArgs,

    #[command(flatten)]
    pub app: AppArgs,

    /// The name of an environment variable holding the Consumer Secret (stored by name).
    #[arg(long, value_name = "VAR")]
    pub client_secret_env: Option<String>,

    /// The org's session timeout, when not Salesforce's default 2h.
    #[arg(long, value_name = "DURATION", value_parser = parse_duration)]
    pub session_timeout: Option<Duration>,

    /// After each refresh, ask the introspection endpoint for the token's real expiry (one
    /// call per refresh; needs the client secret).
    #[arg(long)]
    pub introspect: bool,
}

/// The login flows.
#[derive(Debug, Subcommand)]
pub enum LoginFlow {
    /// Authorization code + PKCE in a browser, with a loopback listener (or paste the
    /// redirected URL with --no-browser).
    #[command(
        after_help = "Examples:\n  sfauth login web --alias prod --client-id \"$CONSUMER_KEY\"\n  sfauth login web --alias prod --client-id \"$CONSUMER_KEY\" --no-browser"
    )]
    Web(WebArgs),
    /// JWT bearer: sign an assertion with the app's private key. Renewed by signing again.
    #[command(
        after_help = "Example:\n  sfauth login jwt --alias ci --client-id \"$CONSUMER_KEY\" --username ci@acme.com --key-file server.key"
    )]
    Jwt(JwtArgs),
    /// Client credentials (needs a My Domain login URL and the client secret).
    #[command(
        after_help = "Example:\n  sfauth login client-credentials --alias svc --client-id \"$KEY\" --client-secret-file secret.txt --login-url https://acme.my.salesforce.com"
    )]
    ClientCredentials(AppLoginArgs),
    /// Username and password + security token, read from stdin or SFAUTH_PASSWORD.
    /// Salesforce blocks this flow by default in new orgs.
    #[command(
        after_help = "Example:\n  SFAUTH_PASSWORD=\"$PW\" sfauth login password --alias legacy --client-id \"$KEY\" --username me@acme.com"
    )]
    Password(PasswordArgs),
    /// Device flow: approve a short code in any browser.
    #[command(
        after_help = "Example:\n  sfauth login device --alias kiosk --client-id \"$CONSUMER_KEY\""
    )]
    Device(DeviceArgs),
    /// An SFDX auth URL (force://<clientId>:<clientSecret>:<refreshToken>@<instance>) from a
    /// file, or stdin with `-`. Refreshes once to prove it works.
    #[command(
        after_help = "Examples:\n  sfauth login sfdx-url --alias ci auth-url.txt\n  SFDX_AUTH_URL=\"$AUTH_URL\" sfauth login sfdx-url --alias ci"
    )]
    SfdxUrl(SfdxUrlArgs),
    /// Adopt an access token (stdin, or SF_ACCESS_TOKEN). It cannot be renewed.
    #[command(
        after_help = "Example:\n  SF_ACCESS_TOKEN=\"$TOKEN\" sfauth login access-token --alias tmp --instance-url https://acme.my.salesforce.com"
    )]
    AccessToken(AccessTokenArgs),
    /// Adopt an existing seed-format token file in place: scripts that read it keep working.
    #[command(
        after_help = "Example:\n  sfauth login token-file --alias legacy --client-id \"$CONSUMER_KEY\" qa_data/tokens/_salesforce.json"
    )]
    TokenFile(TokenFileArgs),
    /// Use one of the Salesforce CLI's orgs (`sf org login …`) in place: its auth file stays
    /// the store, so `sf` and sfauth share one token. See `sfauth orgs --sf`.
    #[command(
        after_help = "Examples:\n  sfauth login sf --alias dev --from my-scratch-org\n  sfauth login sf --alias dev    # the Salesforce CLI's default target org"
    )]
    Sf(SfLoginArgs),
}

impl LoginFlow {
    /// The alias, default and HTTP settings of the org this login stores.
    pub fn org(&self) -> &AliasArgs {
        match self {
            LoginFlow::Web(WebArgs { login, .. })
            | LoginFlow::Jwt(JwtArgs { login, .. })
            | LoginFlow::ClientCredentials(login)
            | LoginFlow::Password(PasswordArgs { login, .. })
            | LoginFlow::Device(DeviceArgs { login, .. })
            | LoginFlow::TokenFile(TokenFileArgs { login, .. }) => &login.org,
            LoginFlow::SfdxUrl(SfdxUrlArgs { org, .. })
            | LoginFlow::AccessToken(AccessTokenArgs { org, .. })
            | LoginFlow::Sf(SfLoginArgs { org, .. }) => org,
        }
    }
}

/// `sfauth login web`.
#[derive(Debug, Args)]
pub struct WebArgs {
    #[command(flatten)]
    pub login: AppLoginArgs,
    /// The connected app's callback URL; its port is where sfauth listens.
    #[arg(long, default_value = sfauth::AuthorizeOptions::DEFAULT_REDIRECT_URI, value_name = "URL")]
    pub redirect_uri: String,
    /// Scopes, space- or comma-separated.
    #[arg(long, default_value = "api refresh_token")]
    pub scopes: String,
    /// `prompt`: login, consent, select_account.
    #[arg(long)]
    pub prompt: Option<String>,
    /// Pre-fill the username on the login page.
    #[arg(long, value_name = "USERNAME")]
    pub login_hint: Option<String>,
    /// Do not listen or open a browser: print the URL, then read the redirected URL
    /// (from the browser's address bar) on stdin. For SSH sessions and containers.
    #[arg(long)]
    pub no_browser: bool,
    /// How long to wait for the browser.
    #[arg(long, value_parser = parse_duration, default_value = "5m", value_name = "DURATION")]
    pub wait: Duration,
}

/// `sfauth login jwt`.
#[derive(Debug, Args)]
pub struct JwtArgs {
    #[command(flatten)]
    pub login: AppLoginArgs,
    /// The Salesforce username to log in as.
    #[arg(long)]
    pub username: String,
    /// The RSA private key (PEM) whose certificate is on the connected app.
    #[arg(long, value_name = "PATH")]
    pub key_file: PathBuf,
    /// The `aud` claim (default: the login URL's https://login or https://test host).
    #[arg(long, value_name = "URL")]
    pub audience: Option<String>,
}

/// `sfauth login password`.
#[derive(Debug, Args)]
pub struct PasswordArgs {
    #[command(flatten)]
    pub login: AppLoginArgs,
    /// The Salesforce username.
    #[arg(long)]
    pub username: String,
}

/// `sfauth login device`.
#[derive(Debug, Args)]
pub struct DeviceArgs {
    #[command(flatten)]
    pub login: AppLoginArgs,
    /// Scopes, space- or comma-separated.
    #[arg(long, default_value = "api refresh_token")]
    pub scopes: String,
    /// How long to wait for the approval.
    #[arg(long, value_parser = parse_duration, default_value = "10m", value_name = "DURATION")]
    pub wait: Duration,
}

/// `sfauth login sfdx-url`.
#[derive(Debug, Args)]
pub struct SfdxUrlArgs {
    #[command(flatten)]
    pub org: AliasArgs,
    /// The file holding the URL, or `-` for stdin; without it (or --sfdx-url-file), the
    /// URL is read from SFDX_AUTH_URL.
    #[arg(value_name = "FILE", conflicts_with = "sfdx_url_file")]
    pub file: Option<PathBuf>,
    /// The file holding the URL (the Salesforce CLI's flag name).
    #[arg(long, value_name = "FILE")]
    pub sfdx_url_file: Option<PathBuf>,
}

/// `sfauth login access-token`.
#[derive(Debug, Args)]
pub struct AccessTokenArgs {
    #[command(flatten)]
    pub org: AliasArgs,
    /// The instance the token belongs to, e.g. https://acme.my.salesforce.com.
    #[arg(long, value_name = "URL")]
    pub instance_url: String,
}

/// `sfauth login sf`.
#[derive(Debug, Args)]
pub struct SfLoginArgs {
    #[command(flatten)]
    pub org: AliasArgs,
    /// The Salesforce CLI's org, by its alias or username; else the CLI's default target
    /// org.
    #[arg(long, value_name = "USERNAME|ALIAS")]
    pub from: Option<String>,
}

/// `sfauth login token-file`.
#[derive(Debug, Args)]
pub struct TokenFileArgs {
    #[command(flatten)]
    pub login: AppLoginArgs,
    /// The token file to adopt.
    #[arg(value_name = "PATH")]
    pub path: PathBuf,
}

// The org, the token file, the client id, the secret file, the login URL and the site read
// their environment variables in `org/`, not through clap, so that a flag always beats an
// exported value (clap would report `--org` from SFAUTH_ORG and `--token-file` as given
// together) and a message can say where a value came from.

/// Which stored org: for every command that works on one.
#[derive(Debug, Clone, Default, Args)]
pub struct OrgSelection {
    /// A stored org (see `sfauth orgs`); else SFAUTH_ORG; else SF_TARGET_ORG (an sfauth
    /// alias, or one of the Salesforce CLI's orgs); else the default org. `-o` and
    /// `--target-org` are the Salesforce CLI's spellings.
    #[arg(long, short = 'o', visible_alias = "target-org", value_name = "ALIAS")]
    pub org: Option<String>,
}

/// Which token: a stored org or a token file, for the commands that serve or refresh one.
#[derive(Debug, Clone, Default, Args)]
pub struct TokenSelection {
    #[command(flatten)]
    pub org: OrgSelection,

    /// The token file: Salesforce's token response as JSON (e.g.
    /// qa_data/tokens/_salesforce.json); else SFAUTH_TOKEN_FILE. Used when no org is named.
    #[arg(long, value_name = "PATH")]
    pub token_file: Option<PathBuf>,
}

/// The connected app and where it logs in: for logins, and to override a stored org's.
#[derive(Debug, Clone, Default, Args)]
pub struct AppArgs {
    /// The connected app's Consumer Key; else SFAUTH_CLIENT_ID. A stored org keeps the one
    /// it logged in with unless this flag is given.
    #[arg(long, value_name = "ID")]
    pub client_id: Option<String>,

    /// A file holding the connected app's Consumer Secret; else SFAUTH_CLIENT_SECRET_FILE
    /// (token commands also take the secret itself in SFAUTH_CLIENT_SECRET). A login stores
    /// the path, never the secret. With it, Salesforce's response signature is verified.
    #[arg(long, value_name = "PATH")]
    pub client_secret_file: Option<PathBuf>,

    /// Where to log in and refresh: https://login.salesforce.com, https://test.salesforce.com,
    /// a My Domain or a site URL; else SFAUTH_LOGIN_URL. Default: login.salesforce.com for a
    /// login, a stored org's own, else the token's issuer (login/test) or its instance_url.
    #[arg(long, value_name = "URL")]
    pub login_url: Option<String>,

    /// An Experience Cloud site path prefix, e.g. /customers; else SFAUTH_SITE.
    #[arg(long, value_name = "PREFIX")]
    pub site: Option<String>,
}

/// Where the token lives: a file (the default) or a store many machines share.
#[derive(Debug, Clone, Args)]
pub struct StoreArgs {
    /// The token store: a path or file:PATH, postgres://USER@HOST:PORT/DB, redis://HOST:PORT/DB
    /// or rediss://… (TLS); else SFAUTH_STORE; else the org's own, else its token file. A
    /// password never goes in this flag (it shows in `ps`): put it in SFAUTH_STORE_PASSWORD,
    /// a file (--store-password-file), or the URL in SFAUTH_STORE.
    #[arg(long, value_name = "URL")]
    pub store: Option<String>,

    /// Which token in a shared store; else SFAUTH_STORE_KEY; else the org's alias, else
    /// `default`.
    #[arg(long, value_name = "NAME")]
    pub store_key: Option<String>,

    /// A file holding the shared store's password; else SFAUTH_STORE_PASSWORD_FILE (or the
    /// password itself in SFAUTH_STORE_PASSWORD).
    #[arg(long, value_name = "PATH")]
    pub store_password_file: Option<PathBuf>,

    /// How long a shared store keeps the lock of a holder that went silent (froze, lost its
    /// network, was killed without closing its connection) before others go on. A live
    /// holder renews it.
    #[arg(long, env = "SFAUTH_STORE_LEASE", value_name = "DURATION", value_parser = parse_duration, default_value = "30s")]
    pub store_lease: Duration,
}

impl Default for StoreArgs {
    fn default() -> Self {
        StoreArgs {
            store: None,
            store_key: None,
            store_password_file: None,
            store_lease: sfauth::StoreOptions::DEFAULT_LEASE,
        }
    }
}

/// Which token, which app, which login host: the token commands' flags.
#[derive(Debug, Args)]
pub struct TargetArgs {
    #[command(flatten)]
    pub select: TokenSelection,

    #[command(flatten)]
    pub store: StoreArgs,

    #[command(flatten)]
    pub app: AppArgs,

    #[command(flatten)]
    pub http: HttpArgs,

    /// Refresh when the token is older than this (the org's session timeout), less a safety
    /// margin (a tenth, at most 5m). Default: the org's setting, else 2h (Salesforce's
    /// default). A JWT access token's own `exp` and an introspected expiry take precedence.
    #[arg(long, env = "SFAUTH_MAX_AGE", value_name = "DURATION", value_parser = parse_duration)]
    pub max_age: Option<Duration>,

    /// Do not ask a running `sfauth agent` for the token; read the store directly.
    #[arg(long, env = "SFAUTH_NO_AGENT", value_parser = clap::builder::BoolishValueParser::new())]
    pub no_agent: bool,
}

/// How sfauth talks to Salesforce, and how long it waits: for every command that does.
#[derive(Debug, Clone, Args)]
pub struct HttpArgs {
    /// A PEM file of extra root certificates (a corporate TLS proxy's CA).
    #[arg(long, env = "SFAUTH_CA_FILE", value_name = "PATH")]
    pub ca_file: Option<PathBuf>,

    /// Give up on a request after this long (e.g. 30s); also the longest wait for another
    /// sfauth that is refreshing the same token.
    #[arg(long, env = "SFAUTH_TIMEOUT", value_name = "DURATION", value_parser = parse_duration, default_value = "30s")]
    pub timeout: Duration,

    /// How often to try again a request that is safe to resend (the connection failed, or
    /// Salesforce answered 503 or 429), after the first try: 0 to 10; default 3. A refresh
    /// that may have reached Salesforce is never resent while its token may rotate.
    #[arg(long, env = "SFAUTH_RETRIES", value_name = "N", value_parser = clap::value_parser!(u8).range(0..=10))]
    pub retries: Option<u8>,
}

/// `sfauth refresh`.
#[derive(Debug, Args)]
pub struct RefreshArgs {
    #[command(flatten)]
    pub target: TargetArgs,

    /// Print a JSON summary on stdout instead of a line on stderr.
    #[arg(long, env = "SFAUTH_JSON", value_parser = clap::builder::BoolishValueParser::new())]
    pub json: bool,
}

/// How `sfauth token` prints the token.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum TokenFormat {
    /// The access token and a newline.
    Bare,
    /// `Authorization: Bearer <token>`.
    Header,
    /// `{"access_token", "instance_url", "issued_at", "expires_at", "expires_in"}`.
    Json,
    /// `export SF_ACCESS_TOKEN=…` lines for `eval`: the variables `exec` sets.
    Env,
}

/// `sfauth token`.
#[derive(Debug, Args)]
pub struct TokenArgs {
    #[command(flatten)]
    pub target: TargetArgs,

    /// Output format.
    #[arg(long, env = "SFAUTH_FORMAT", value_enum, default_value_t = TokenFormat::Bare)]
    pub format: TokenFormat,
}

/// `sfauth header`.
#[derive(Debug, Args)]
pub struct HeaderArgs {
    #[command(flatten)]
    pub target: TargetArgs,
}

/// `sfauth exec`.
#[derive(Debug, Args)]
pub struct ExecArgs {
    #[command(flatten)]
    pub target: TargetArgs,

    /// The command and its arguments, after `--`.
    #[arg(
        required = true,
        trailing_var_arg = true,
        allow_hyphen_values = true,
        value_name = "CMD"
    )]
    pub command: Vec<std::ffi::OsString>,
}

/// `sfauth request`.
#[derive(Debug, Args)]
pub struct RequestArgs {
    #[command(flatten)]
    pub target: TargetArgs,

    /// The HTTP method (default: GET, or POST with --data).
    #[arg(short = 'X', long, value_name = "METHOD")]
    pub method: Option<String>,

    /// A header, `Name: value`; repeatable.
    #[arg(short = 'H', long = "header", value_name = "HEADER")]
    pub headers: Vec<String>,

    /// The body: `@FILE`, `-` for stdin, or the text itself. JSON unless -H sets the type.
    #[arg(short = 'd', long, value_name = "DATA")]
    pub data: Option<String>,

    /// Print the status line and headers on stderr.
    #[arg(short = 'i', long)]
    pub include: bool,

    /// Print `{"status", "status_line", "headers", "body", "refreshed"}` on stdout instead
    /// of the body alone (a JSON body is embedded as JSON, any other as text). A flag only:
    /// an exported SFAUTH_JSON leaves the body as it is.
    #[arg(long)]
    pub json: bool,

    /// Also send the token to this host (repeatable; SFAUTH_ALLOW_HOST takes a comma-separated
    /// list). Without it, an absolute URL must be on the org's own instance, API instance or
    /// site host.
    #[arg(
        long = "allow-host",
        env = "SFAUTH_ALLOW_HOST",
        value_delimiter = ',',
        value_name = "HOST"
    )]
    pub allow_hosts: Vec<String>,

    /// A path such as /services/data/v62.0/limits (resolved against the org's
    /// instance_url) or an absolute URL.
    #[arg(value_name = "PATH|URL")]
    pub target_url: String,
}

/// `sfauth demo`.
#[derive(Debug, Args)]
pub struct DemoArgs {
    /// How many `sfauth token` processes ask for the stale token at once.
    #[arg(long, default_value_t = 16, value_parser = clap::value_parser!(u16).range(1..=256))]
    pub callers: u16,

    /// Keep the demo's files here instead of a temporary directory.
    #[arg(long, value_name = "DIR")]
    pub dir: Option<PathBuf>,
}

/// The longest duration sfauth accepts: 100 years. Longer ones are typos, and would
/// overflow the clock arithmetic they feed.
pub const MAX_DURATION: Duration = Duration::from_secs(100 * 365 * 86400);

/// Parses a duration as people write it (humantime's syntax: `90s`, `30m`, `1h30m`,
/// `2 hours`, `1d`, `500ms`), or a bare number of seconds. A duration over
/// [`MAX_DURATION`] (or one that overflows) is an error, never a wrap or a panic.
pub fn parse_duration(input: &str) -> Result<Duration, String> {
    let s = input.trim();
    let too_long = || format!("`{input}` is too long; the most is 36500d (100 years)");
    let duration = if !s.is_empty() && s.bytes().all(|b| b.is_ascii_digit()) {
        Duration::from_secs(s.parse().map_err(|_| too_long())?)
    } else {
        humantime::parse_duration(s).map_err(|e| match e {
            humantime::DurationError::NumberOverflow => too_long(),
            other => format!("`{input}` is not a duration ({other}); use e.g. 90s, 30m, 1h30m"),
        })?
    };
    if duration > MAX_DURATION {
        return Err(too_long());
    }
    Ok(duration)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn durations_parse_with_units() {
        assert_eq!(parse_duration("2h"), Ok(Duration::from_secs(7200)));
        assert_eq!(parse_duration("90"), Ok(Duration::from_secs(90)));
        assert_eq!(parse_duration("250ms"), Ok(Duration::from_millis(250)));
        assert_eq!(parse_duration("1h30m"), Ok(Duration::from_secs(5400)));
        assert_eq!(parse_duration("2 hours"), Ok(Duration::from_secs(7200)));
        assert!(parse_duration("2 fortnights").is_err());
        assert!(parse_duration("h").is_err());
        assert!(parse_duration("").is_err());
    }

    #[test]
    fn durations_that_overflow_are_errors_saying_too_long() {
        for input in [
            "307445734561825860m",
            "99999999999999999999s",
            "18446744073709551615d",
            "36501d",
            "18446744073709551615ms",
        ] {
            let e = parse_duration(input).unwrap_err();
            assert!(e.contains("too long"), "{input}: {e}");
        }
        assert_eq!(
            parse_duration("36500d"),
            Ok(Duration::from_secs(36500 * 86400))
        );
    }

    proptest::proptest! {
        #[test]
        fn parse_duration_never_panics(input in "\\PC*") {
            let _ = parse_duration(&input);
        }

        #[test]
        fn parse_duration_never_panics_on_digits_and_units(
            n in proptest::num::u64::ANY,
            unit in proptest::sample::select(vec!["", "ms", "s", "m", "h", "d", "x"]),
        ) {
            if let Ok(d) = parse_duration(&format!("{n}{unit}")) {
                proptest::prop_assert!(d <= MAX_DURATION);
            }
        }
    }

    #[test]
    fn cli_definition_is_consistent() {
        use clap::CommandFactory;
        Cli::command().debug_assert();
    }
}

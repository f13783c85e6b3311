//! Who is acting, as far as this process can tell.

/// The OS user (`$USER`, else `cocpit`): the actor of everything done on the local engine.
pub fn current_user() -> String {
    std::env::var("USER")
        .ok()
        .filter(|u| !u.is_empty())
        .unwrap_or_else(|| "cocpit".into())
}

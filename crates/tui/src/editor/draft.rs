//! Drafts: the editor's unsaved state, written on every change so a dropped SSH session loses
//! nothing, and offered back on the next start. One JSON file per draft in the drafts
//! directory, replaced atomically (write, then rename) so a kill mid-write leaves the old one.

use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

use cocpit_api::model::script::{RiskLevel, ScriptParamDefine, ScriptType};

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Draft {
    /// The file's name: the script's uuid, or `new-<millis>` for a script not yet saved.
    pub key: String,
    pub script_uuid: Option<String>,
    pub name: String,
    pub description: String,
    #[serde(rename = "type")]
    pub script_type: ScriptType,
    pub risk_level: RiskLevel,
    pub version: String,
    /// As typed in the editor (`name[:user_id], …`).
    #[serde(default)]
    pub reviewers: String,
    pub params: Vec<ScriptParamDefine>,
    pub content: String,
    /// When it was written, milliseconds since the epoch.
    pub saved_at: i64,
}

fn path(dir: &Path, key: &str) -> PathBuf {
    // Keys are uuids or `new-<digits>`; anything else is made safe for a file name.
    let safe: String = key
        .chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || c == '-' || c == '_' {
                c
            } else {
                '_'
            }
        })
        .collect();
    dir.join(format!("{safe}.json"))
}

pub fn save(dir: &Path, d: &Draft) -> std::io::Result<()> {
    std::fs::create_dir_all(dir)?;
    let target = path(dir, &d.key);
    let tmp = target.with_extension("json.tmp");
    std::fs::write(&tmp, serde_json::to_vec(d).map_err(std::io::Error::other)?)?;
    std::fs::rename(&tmp, &target)
}

pub fn remove(dir: &Path, key: &str) -> std::io::Result<()> {
    match std::fs::remove_file(path(dir, key)) {
        Err(e) if e.kind() != std::io::ErrorKind::NotFound => Err(e),
        _ => Ok(()),
    }
}

/// Every readable draft, newest first; unreadable files are reported, never deleted.
pub fn load_all(dir: &Path) -> (Vec<Draft>, Vec<String>) {
    let (mut drafts, mut problems) = (vec![], vec![]);
    let Ok(entries) = std::fs::read_dir(dir) else {
        return (drafts, problems);
    };
    for e in entries.flatten() {
        let p = e.path();
        if p.extension().is_none_or(|x| x != "json") {
            continue;
        }
        match std::fs::read(&p)
            .map_err(|e| e.to_string())
            .and_then(|b| serde_json::from_slice::<Draft>(&b).map_err(|e| e.to_string()))
        {
            Ok(d) => drafts.push(d),
            Err(e) => problems.push(format!("draft {} unreadable: {e}", p.display())),
        }
    }
    drafts.sort_by_key(|d| std::cmp::Reverse(d.saved_at));
    (drafts, problems)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn draft(key: &str, at: i64) -> Draft {
        Draft {
            key: key.into(),
            script_uuid: None,
            name: "n".into(),
            description: String::new(),
            script_type: ScriptType::Shell,
            risk_level: RiskLevel::Low,
            version: "1".into(),
            reviewers: String::new(),
            params: vec![],
            content: "echo hi\n".into(),
            saved_at: at,
        }
    }

    #[test]
    fn saved_loaded_newest_first_and_removed() {
        let dir = tempfile::tempdir().unwrap();
        let d = dir.path().join("drafts");
        save(&d, &draft("new-1", 1)).unwrap();
        save(&d, &draft("SC2", 5)).unwrap();
        let mut again = draft("new-1", 9);
        again.content = "echo changed\n".into();
        save(&d, &again).unwrap();
        std::fs::write(d.join("junk.json"), b"{not json").unwrap();
        let (all, problems) = load_all(&d);
        assert_eq!(
            all.iter().map(|d| d.key.as_str()).collect::<Vec<_>>(),
            ["new-1", "SC2"]
        );
        assert_eq!(all[0].content, "echo changed\n");
        assert_eq!(problems.len(), 1, "{problems:?}");
        assert!(d.join("junk.json").exists(), "a bad draft is never deleted");
        remove(&d, "new-1").unwrap();
        remove(&d, "new-1").unwrap();
        assert_eq!(load_all(&d).0.len(), 1);
        assert!(path(&d, "../x").starts_with(&d));
    }
}

//! Where each service lives: one endpoint for everything (a `cocpit serve`), or per service
//! from the region's defaults (`../shared/conformance/NOTES.md` §5) with overrides.

use crate::settings::Profile;
pub use cocpit_api::endpoint::Service;

/// A service's base URL (`scheme://host[:port]`) and the `Host` it signs.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Address {
    pub base: String,
    pub host: String,
}

impl Address {
    /// `what` names the setting in errors (`--endpoint`, `profiles.prod.endpoints.coc`).
    pub fn parse(what: &str, url: &str) -> Result<Address, String> {
        let u = reqwest::Url::parse(url).map_err(|e| format!("{what} {url:?}: not a URL ({e})"))?;
        if !matches!(u.scheme(), "http" | "https") {
            return Err(format!(
                "{what} {url:?}: must start with http:// or https://"
            ));
        }
        let host = match (u.host_str(), u.port()) {
            (Some(h), Some(p)) => format!("{h}:{p}"),
            (Some(h), None) => h.to_string(),
            (None, _) => return Err(format!("{what} {url:?}: no host")),
        };
        Ok(Address {
            base: format!("{}://{host}", u.scheme()),
            host,
        })
    }
}

/// Each service's endpoint, or why there is none.
#[derive(Debug, Clone)]
pub struct Endpoints {
    by_service: [Result<Address, String>; 5],
}

/// Regions with a Cloud Eye endpoint (`ces.{region}.myhuaweicloud.com`).
const CES_REGIONS: &[&str] = &[
    "af-south-1",
    "af-north-1",
    "ap-southeast-1",
    "ap-southeast-2",
    "ap-southeast-3",
    "ap-southeast-4",
    "ap-southeast-5",
    "cn-north-1",
    "cn-north-2",
    "cn-north-4",
    "cn-north-9",
    "cn-north-11",
    "cn-north-12",
    "cn-east-2",
    "cn-east-3",
    "cn-east-4",
    "cn-east-5",
    "cn-south-1",
    "cn-south-2",
    "cn-south-4",
    "cn-southwest-2",
    "cn-southwest-3",
    "eu-west-0",
    "eu-west-101",
    "la-north-2",
    "la-south-2",
    "me-east-1",
    "my-kualalumpur-1",
    "na-mexico-1",
    "ru-moscow-1",
    "sa-brazil-1",
    "sa-peru-1",
    "tr-west-1",
];

/// Regions with a Workspace endpoint (`workspace.{region}.myhuaweicloud.com`).
const WORKSPACE_REGIONS: &[&str] = &[
    "af-north-1",
    "af-south-1",
    "ap-southeast-1",
    "ap-southeast-2",
    "ap-southeast-3",
    "cn-east-3",
    "cn-east-5",
    "cn-north-4",
    "cn-north-9",
    "cn-north-11",
    "cn-south-1",
    "cn-southwest-2",
    "eu-west-101",
    "la-north-2",
    "la-south-2",
    "me-east-1",
    "sa-brazil-1",
    "tr-west-1",
];

/// COC has one endpoint per site.
fn coc_default(region: &str) -> Option<&'static str> {
    match region {
        "cn-north-4" => Some("https://coc.myhuaweicloud.com"),
        "ap-southeast-3" => Some("https://coc-intl.myhuaweicloud.com"),
        "eu-west-101" => Some("https://coc-eu-west-101-open-api.myhuaweicloud.eu"),
        _ => None,
    }
}

pub const TAT_DEFAULT: &str = "https://tat.tencentcloudapi.com";

impl Endpoints {
    /// Every service at one endpoint.
    pub fn single(what: &str, url: &str) -> Result<Endpoints, String> {
        let e = Address::parse(what, url)?;
        Ok(Endpoints {
            by_service: [
                Ok(e.clone()),
                Ok(e.clone()),
                Ok(e.clone()),
                Ok(e.clone()),
                Ok(e),
            ],
        })
    }

    /// A profile's endpoints: its single `endpoint`, else per service from `endpoints.*` and
    /// the region's defaults. A service without one fails only when used.
    pub fn of_profile(name: &str, p: &Profile) -> Result<Endpoints, String> {
        let key = |k: &str| format!("profiles.{name}.{k}");
        if let Some(url) = &p.endpoint {
            return Endpoints::single(&key("endpoint"), url);
        }
        let region = p.region.as_deref();
        let pick = |service: &str, set: &Option<String>, default: Option<String>| {
            let what = key(&format!("endpoints.{service}"));
            match (set, default) {
                (Some(url), _) => Address::parse(&what, url),
                (None, Some(url)) => Address::parse(&what, &url),
                (None, None) => Err(match region {
                    Some(r) => format!("no known {service} endpoint in region {r}: set {what}"),
                    None => format!("set {} or {what}", key("region")),
                }),
            }
        };
        let by_region = |list: &[&str], host: &str| {
            region
                .filter(|r| list.contains(r))
                .map(|r| format!("https://{host}.{r}.myhuaweicloud.com"))
        };
        let e = &p.endpoints;
        let by_service = [
            pick(
                "coc",
                &e.coc,
                region.and_then(coc_default).map(str::to_string),
            ),
            pick("ces", &e.ces, by_region(CES_REGIONS, "ces")),
            pick(
                "workspace",
                &e.workspace,
                by_region(WORKSPACE_REGIONS, "workspace"),
            ),
            pick("tat", &e.tat, Some(TAT_DEFAULT.to_string())),
            pick(
                "iam",
                &e.iam,
                region.map(|r| format!("https://iam.{r}.myhuaweicloud.com")),
            ),
        ];
        if let Err(e) = &by_service[0] {
            // COC is what the console is for: without it there is nothing to open.
            return Err(e.clone());
        }
        Ok(Endpoints { by_service })
    }

    pub fn get(&self, s: Service) -> Result<&Address, String> {
        self.by_service[s as usize].as_ref().map_err(Clone::clone)
    }

    pub fn coc(&self) -> &Address {
        self.by_service[0]
            .as_ref()
            .expect("COC's endpoint is checked when built")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn profile(region: Option<&str>) -> Profile {
        Profile {
            region: region.map(String::from),
            ..Default::default()
        }
    }

    #[test]
    fn a_region_gives_each_service_its_default() {
        let e = Endpoints::of_profile("prod", &profile(Some("cn-north-4"))).unwrap();
        assert_eq!(e.coc().base, "https://coc.myhuaweicloud.com");
        assert_eq!(
            e.get(Service::CloudEye).unwrap().host,
            "ces.cn-north-4.myhuaweicloud.com"
        );
        assert_eq!(
            e.get(Service::Workspace).unwrap().base,
            "https://workspace.cn-north-4.myhuaweicloud.com"
        );
        assert_eq!(e.get(Service::Tat).unwrap().base, TAT_DEFAULT);
        assert_eq!(
            e.get(Service::Iam).unwrap().host,
            "iam.cn-north-4.myhuaweicloud.com"
        );
        let intl = Endpoints::of_profile("i", &profile(Some("ap-southeast-3"))).unwrap();
        assert_eq!(intl.coc().host, "coc-intl.myhuaweicloud.com");
    }

    #[test]
    fn a_missing_endpoint_names_the_setting() {
        let err = Endpoints::of_profile("x", &profile(Some("cn-east-3"))).unwrap_err();
        assert_eq!(
            err,
            "no known coc endpoint in region cn-east-3: set profiles.x.endpoints.coc"
        );
        let mut p = profile(Some("cn-north-2"));
        p.endpoints.coc = Some("https://coc.example.com:8443".into());
        let e = Endpoints::of_profile("x", &p).unwrap();
        assert_eq!(e.coc().host, "coc.example.com:8443");
        // cn-north-2 has Cloud Eye but no Workspace: that fails only when used.
        assert!(e.get(Service::CloudEye).is_ok());
        let ws = e.get(Service::Workspace).unwrap_err();
        assert!(ws.contains("profiles.x.endpoints.workspace"), "{ws}");
        let none = Endpoints::of_profile("y", &profile(None)).unwrap_err();
        assert_eq!(none, "set profiles.y.region or profiles.y.endpoints.coc");
        let bad = Endpoints::single("--endpoint", "ftp://x").unwrap_err();
        assert!(bad.contains("http://"), "{bad}");
    }
}

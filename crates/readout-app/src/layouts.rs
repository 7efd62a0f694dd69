//! A dashboard's layout: chart and text panels on a grid, the default
//! layout a host gets from the variables its presets produce, the checks a
//! saved layout must pass, text panels' `{{ variable }}`, and the layout in
//! force for a device (read from the store).

use std::collections::HashMap;
use std::fmt;
use std::str::FromStr;

use readout_notify::context::{unit_of, value_text};
use readout_storage::{Database, DbError, SeriesInfo};
use serde::{Deserialize, Serialize};

/// Grid columns on a desktop.
pub const COLUMNS: u8 = 12;

/// Which screen a layout is for. Each is arranged (and saved) on its own;
/// a phone's narrow grid starts as the desktop's panels stacked.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Device {
    Desktop,
    Mobile,
}

impl Device {
    pub fn as_str(self) -> &'static str {
        match self {
            Device::Desktop => "desktop",
            Device::Mobile => "mobile",
        }
    }

    /// Grid columns: a phone has room for two small boxes side by side.
    pub fn columns(self) -> u8 {
        match self {
            Device::Desktop => COLUMNS,
            Device::Mobile => 2,
        }
    }
}

impl fmt::Display for Device {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl FromStr for Device {
    type Err = String;

    fn from_str(s: &str) -> Result<Self, String> {
        match s {
            "desktop" => Ok(Device::Desktop),
            "mobile" => Ok(Device::Mobile),
            other => Err(format!("{other:?} is not a device: desktop or mobile")),
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum PanelKind {
    Chart,
    Text,
}

/// One box of a dashboard. Position and size are in grid cells.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Panel {
    pub kind: PanelKind,
    pub title: String,
    /// A chart's series, by variable name.
    #[serde(default)]
    pub variables: Vec<String>,
    /// Line colours, by position in `variables`; missing ones come from the
    /// palette.
    #[serde(default)]
    pub colors: Vec<String>,
    /// Series drawn only once clicked in the legend.
    #[serde(default)]
    pub hidden: Vec<String>,
    /// The y axis's fixed ends; a missing one follows the data.
    #[serde(default)]
    pub y_min: Option<f64>,
    #[serde(default)]
    pub y_max: Option<f64>,
    /// A text panel's text; `{{ name }}` reads a variable's current value.
    #[serde(default)]
    pub text: String,
    pub x: u8,
    pub y: u16,
    pub w: u8,
    pub h: u8,
}

impl Panel {
    fn chart(title: &str, variables: Vec<String>) -> Self {
        let percent = variables.iter().all(|v| unit_of(v) == "%");
        Self {
            kind: PanelKind::Chart,
            title: title.to_owned(),
            variables,
            colors: Vec::new(),
            hidden: Vec::new(),
            y_min: percent.then_some(0.0),
            y_max: percent.then_some(100.0),
            text: String::new(),
            x: 0,
            y: 0,
            w: 6,
            h: 4,
        }
    }

    fn text(title: &str, text: String) -> Self {
        Self {
            kind: PanelKind::Text,
            title: title.to_owned(),
            variables: Vec::new(),
            colors: Vec::new(),
            hidden: Vec::new(),
            y_min: None,
            y_max: None,
            text,
            x: 0,
            y: 0,
            w: COLUMNS,
            h: 2,
        }
    }
}

/// Mounts that are memory or kernel file systems, not disks.
fn pseudo_mount(name: &str) -> bool {
    ["/dev", "/sys", "/proc", "/run"].iter().any(|p| {
        name.contains(&format!("mount=\"{p}\"")) || name.contains(&format!("mount=\"{p}/"))
    })
}

/// The layout a host gets before anyone edits it, from the variables it
/// has (sorted by name, as the store lists them).
pub fn default_layout(variables: &[SeriesInfo]) -> Vec<Panel> {
    let has = |name: &str| variables.iter().any(|v| v.name == name);
    let present = |names: &[&str]| -> Vec<String> {
        names
            .iter()
            .filter(|n| has(n))
            .map(|n| (*n).to_owned())
            .collect()
    };
    let mut disks: Vec<String> = variables
        .iter()
        .map(|v| v.name.clone())
        .filter(|n| n.starts_with("fs_used_pct{") && !pseudo_mount(n))
        .collect();
    // The root file system first: it is the one people look for.
    disks.sort_by_key(|n| !n.contains("mount=\"/\""));
    disks.truncate(6);

    let mut figures = Vec::new();
    if let Some(root) = disks.first() {
        figures.push(format!("Disk {{{{ {root} }}}}"));
    }
    for (label, name) in [
        ("Memory", "mem_used_pct"),
        ("CPU", "cpu_used_pct"),
        ("Load", "load1"),
    ] {
        if has(name) {
            figures.push(format!("{label} {{{{ {name} }}}}"));
        }
    }

    let mut charts = Vec::new();
    let load = present(&["load1", "load5", "load15"]);
    if !load.is_empty() {
        charts.push(Panel::chart("Load", load));
    }
    let mut cpu = present(&["cpu_used_pct"]);
    if cpu.is_empty() {
        cpu = present(&["cpu_user_pct", "cpu_system_pct", "cpu_iowait_pct"]);
    }
    if !cpu.is_empty() {
        charts.push(Panel::chart("CPU", cpu));
    }
    let memory = present(&["mem_used_pct", "swap_used_pct"]);
    if !memory.is_empty() {
        charts.push(Panel::chart("Memory", memory));
    }
    if !disks.is_empty() {
        charts.push(Panel::chart("Disks used", disks));
    }
    if charts.is_empty() {
        // A host of custom commands: a chart per data source, first few
        // variables each.
        let mut by_source: Vec<(&str, Vec<String>)> = Vec::new();
        for v in variables.iter().filter(|v| v.last_value.is_some()) {
            let full = by_source.len() >= 4;
            match by_source.iter_mut().find(|(s, _)| *s == v.source) {
                Some((_, names)) if names.len() < 5 => names.push(v.name.clone()),
                None if !full => by_source.push((&v.source, vec![v.name.clone()])),
                _ => {}
            }
        }
        for (source, names) in by_source {
            if figures.len() < 6 {
                figures.extend(names.iter().map(|n| format!("{n} {{{{ {n} }}}}")));
            }
            charts.push(Panel::chart(source, names));
        }
    }

    let mut layout = Vec::new();
    let mut row = 0;
    if !figures.is_empty() {
        layout.push(Panel::text("Now", figures.join(" · ")));
        row = 2;
    }
    for (i, mut chart) in charts.into_iter().enumerate() {
        let i = u16::try_from(i).unwrap_or(u16::MAX);
        chart.x = if i % 2 == 0 { 0 } else { 6 };
        chart.y = row + (i / 2) * 4;
        layout.push(chart);
    }
    layout
}

/// A phone's first layout: the desktop's panels in reading order, each the
/// full width of the narrow grid.
pub fn stacked(desktop: &[Panel]) -> Vec<Panel> {
    let mut panels = desktop.to_vec();
    panels.sort_by_key(|p| (p.y, p.x));
    let mut y = 0;
    for p in &mut panels {
        p.x = 0;
        p.w = Device::Mobile.columns();
        p.y = y;
        y = y.saturating_add(u16::from(p.h));
    }
    panels
}

/// What a saved layout may hold, so that one page stays quick to draw.
pub const MAX_PANELS: usize = 48;
pub const MAX_SERIES: usize = 12;
const MAX_TITLE: usize = 120;
const MAX_TEXT: usize = 2000;
const MAX_NAME: usize = 300;
const MAX_HEIGHT: u8 = 16;
const MAX_ROW: u16 = 2000;

/// What is wrong with a layout, and where (`panels[2].w`).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{at}: {message}")]
pub struct LayoutError {
    pub at: String,
    pub message: String,
}

/// `#rgb` or `#rrggbb`: a colour cannot smuggle anything into a style.
fn is_color(c: &str) -> bool {
    let hex = c.strip_prefix('#').unwrap_or("");
    matches!(hex.len(), 3 | 6) && hex.bytes().all(|b| b.is_ascii_hexdigit())
}

/// Checks a layout before it is saved: every panel inside the grid, none
/// overlapping another, names and colours well formed, within the limits.
pub fn check(panels: &[Panel], device: Device) -> Result<(), LayoutError> {
    let err = |at: String, message: String| Err(LayoutError { at, message });
    if panels.len() > MAX_PANELS {
        return err(
            "panels".into(),
            format!(
                "{} panels; a dashboard holds at most {MAX_PANELS}",
                panels.len()
            ),
        );
    }
    let columns = device.columns();
    for (i, p) in panels.iter().enumerate() {
        let at = |field: &str| format!("panels[{i}].{field}");
        if p.title.chars().count() > MAX_TITLE {
            return err(at("title"), format!("longer than {MAX_TITLE} characters"));
        }
        if p.w == 0 || p.x.saturating_add(p.w) > columns {
            return err(
                at("w"),
                format!(
                    "x {} and width {} do not fit the {device} grid of {columns} columns",
                    p.x, p.w
                ),
            );
        }
        if p.h == 0 || p.h > MAX_HEIGHT {
            return err(
                at("h"),
                format!("height {} is not within 1..={MAX_HEIGHT}", p.h),
            );
        }
        if p.y > MAX_ROW {
            return err(at("y"), format!("row {} is past row {MAX_ROW}", p.y));
        }
        match p.kind {
            PanelKind::Chart => {
                if p.variables.is_empty() {
                    return err(
                        at("variables"),
                        "a chart needs at least one variable".into(),
                    );
                }
                if p.variables.len() > MAX_SERIES {
                    return err(
                        at("variables"),
                        format!(
                            "{} series; a chart draws at most {MAX_SERIES}",
                            p.variables.len()
                        ),
                    );
                }
            }
            PanelKind::Text => {
                if p.text.trim().is_empty() {
                    return err(at("text"), "a text panel needs some text".into());
                }
            }
        }
        if p.text.chars().count() > MAX_TEXT {
            return err(at("text"), format!("longer than {MAX_TEXT} characters"));
        }
        for (j, name) in p.variables.iter().enumerate() {
            if name.is_empty() || name.len() > MAX_NAME || name.chars().any(char::is_control) {
                return err(
                    format!("panels[{i}].variables[{j}]"),
                    format!("{name:?} is not a variable name"),
                );
            }
        }
        if p.colors.len() > p.variables.len() {
            return err(at("colors"), "more colours than variables".into());
        }
        if let Some((j, c)) = p.colors.iter().enumerate().find(|(_, c)| !is_color(c)) {
            return err(
                format!("panels[{i}].colors[{j}]"),
                format!("{c:?} is not a colour like #1f6feb"),
            );
        }
        if let Some(h) = p.hidden.iter().find(|h| !p.variables.contains(h)) {
            return err(
                at("hidden"),
                format!("{h:?} is not one of the chart's variables"),
            );
        }
        let ends = [p.y_min, p.y_max];
        if ends.iter().flatten().any(|v| !v.is_finite()) {
            return err(
                at("y_min"),
                "the y axis's ends must be finite numbers".into(),
            );
        }
        if let [Some(lo), Some(hi)] = ends
            && lo >= hi
        {
            return err(at("y_max"), format!("y_max {hi} is not above y_min {lo}"));
        }
        let overlaps = |q: &Panel| {
            p.x < q.x + q.w
                && q.x < p.x + p.w
                && p.y < q.y + u16::from(q.h)
                && q.y < p.y + u16::from(p.h)
        };
        if let Some(j) = panels[..i].iter().position(overlaps) {
            return err(format!("panels[{i}]"), format!("overlaps panels[{j}]"));
        }
    }
    Ok(())
}

/// Fills `{{ name }}` with the variable's current value and unit. A name
/// may hold braces (`fs_used_pct{mount="/"}`): the closing `}}` is the last
/// of a run of braces.
pub fn render_text(text: &str, values: &HashMap<&str, Option<f64>>) -> String {
    let mut out = String::with_capacity(text.len());
    let mut rest = text;
    while let Some(open) = rest.find("{{") {
        out.push_str(&rest[..open]);
        let after = &rest[open + 2..];
        let Some(mut close) = after.find("}}") else {
            out.push_str(&rest[open..]);
            return out;
        };
        while after[close + 2..].starts_with('}') {
            close += 1;
        }
        let name = after[..close].trim();
        match values.get(name) {
            Some(value) => out.push_str(&value_text(*value, unit_of(name))),
            None => out.push_str(&format!("({name}: no such variable)")),
        }
        rest = &after[close + 2..];
    }
    out.push_str(rest);
    out
}

/// A layout as the page and the API hand it out.
#[derive(Debug, Serialize)]
pub struct LayoutView {
    pub device: Device,
    /// Whether someone saved it; otherwise it is the default one.
    pub saved: bool,
    pub updated_at_ms: Option<i64>,
    pub panels: Vec<Panel>,
}

/// The layout in force for `device`: the saved one, else the default (a
/// phone's default is the desktop's layout in force, stacked).
pub async fn in_force<D: Database>(
    db: &D,
    host_id: &str,
    device: Device,
    variables: &[SeriesInfo],
) -> Result<LayoutView, DbError> {
    let saved = |device: Device| async move {
        match db.layout(host_id, device.as_str()).await? {
            Some(saved) => serde_json::from_str::<Vec<Panel>>(&saved.panels_json)
                .map(|panels| Some((saved.updated_at_ms, panels)))
                .map_err(|e| DbError::Corrupt(format!("{device} layout of {host_id}: {e}"))),
            None => Ok(None),
        }
    };
    if let Some((at, panels)) = saved(device).await? {
        return Ok(LayoutView {
            device,
            saved: true,
            updated_at_ms: Some(at),
            panels,
        });
    }
    let panels = match device {
        Device::Desktop => default_layout(variables),
        Device::Mobile => match saved(Device::Desktop).await? {
            Some((_, desktop)) => stacked(&desktop),
            None => stacked(&default_layout(variables)),
        },
    };
    Ok(LayoutView {
        device,
        saved: false,
        updated_at_ms: None,
        panels,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn info(source: &str, name: &str, value: f64) -> SeriesInfo {
        SeriesInfo {
            name: name.to_owned(),
            source: source.to_owned(),
            last_at_ms: 0,
            last_value: Some(value),
            last_text: None,
        }
    }

    #[test]
    fn text_reads_values_with_units_and_names_with_braces() {
        let values = HashMap::from([
            ("fs_used_pct{mount=\"/\"}", Some(52.0)),
            ("mem_used_bytes", Some(3.0 * 1024.0 * 1024.0 * 1024.0)),
            ("load1", None),
        ]);
        assert_eq!(
            render_text(
                "Disk {{fs_used_pct{mount=\"/\"}}} · RAM {{ mem_used_bytes }} · {{load1}}",
                &values
            ),
            "Disk 52 % · RAM 3 GiB · no value"
        );
        assert_eq!(
            render_text("{{ nope }} and {{ unclosed", &values),
            "(nope: no such variable) and {{ unclosed"
        );
    }

    #[test]
    fn the_default_layout_follows_the_presets() {
        let vars = vec![
            info("readout_df", "fs_used_pct{mount=\"/\"}", 52.0),
            info("readout_df", "fs_used_pct{mount=\"/dev/shm\"}", 1.0),
            info("readout_df", "fs_used_pct{mount=\"/srv\"}", 10.0),
            info("readout_loadavg", "load1", 0.9),
            info("readout_loadavg", "load15", 1.2),
            info("readout_loadavg", "load5", 1.1),
            info("readout_free", "mem_used_pct", 2.3),
            info("readout_top", "cpu_used_pct", 50.0),
        ];
        let layout = default_layout(&vars);
        let titles: Vec<&str> = layout.iter().map(|p| p.title.as_str()).collect();
        assert_eq!(titles, ["Now", "Load", "CPU", "Memory", "Disks used"]);
        assert_eq!(
            layout[0].text,
            "Disk {{ fs_used_pct{mount=\"/\"} }} · Memory {{ mem_used_pct }} · CPU {{ cpu_used_pct }} · Load {{ load1 }}"
        );
        assert_eq!(layout[1].variables, ["load1", "load5", "load15"]);
        assert_eq!(layout[1].y_max, None, "load has no fixed scale");
        assert_eq!(
            layout[4].variables,
            ["fs_used_pct{mount=\"/\"}", "fs_used_pct{mount=\"/srv\"}"],
            "root first, no /dev"
        );
        assert_eq!((layout[4].y_min, layout[4].y_max), (Some(0.0), Some(100.0)));
        // Two charts a row, none overlapping.
        let places: Vec<(u8, u16)> = layout.iter().map(|p| (p.x, p.y)).collect();
        assert_eq!(places, [(0, 0), (0, 2), (6, 2), (0, 6), (6, 6)]);
    }

    #[test]
    fn custom_commands_get_a_chart_per_source() {
        let vars = vec![
            info("queue", "depth", 4.0),
            info("queue", "age_seconds", 30.0),
            info("temp", "board_celsius", 41.0),
        ];
        let layout = default_layout(&vars);
        let titles: Vec<&str> = layout.iter().map(|p| p.title.as_str()).collect();
        assert_eq!(titles, ["Now", "queue", "temp"]);
        assert_eq!(layout[1].variables, ["depth", "age_seconds"]);
        assert!(default_layout(&[]).is_empty());
    }

    fn chart_at(x: u8, y: u16, w: u8, h: u8) -> Panel {
        let mut p = Panel::chart("c", vec!["load1".into()]);
        (p.x, p.y, p.w, p.h) = (x, y, w, h);
        p
    }

    #[test]
    fn a_layout_is_checked_with_the_place_of_what_is_wrong() {
        let fine = vec![
            chart_at(0, 0, 6, 4),
            chart_at(6, 0, 6, 4),
            chart_at(0, 4, 12, 2),
        ];
        assert_eq!(check(&fine, Device::Desktop), Ok(()));
        let at = |panels: &[Panel], device| check(panels, device).map_err(|e| e.to_string());

        let wide = vec![chart_at(8, 0, 6, 4)];
        assert_eq!(
            at(&wide, Device::Desktop),
            Err("panels[0].w: x 8 and width 6 do not fit the desktop grid of 12 columns".into())
        );
        assert!(
            at(&[chart_at(0, 0, 3, 4)], Device::Mobile).is_err(),
            "a phone has 2 columns"
        );
        let over = vec![chart_at(0, 0, 6, 4), chart_at(3, 3, 6, 4)];
        assert_eq!(
            at(&over, Device::Desktop),
            Err("panels[1]: overlaps panels[0]".into())
        );
        // Touching edges is not overlapping.
        assert!(
            check(
                &[chart_at(0, 0, 6, 4), chart_at(6, 3, 6, 4)],
                Device::Desktop
            )
            .is_ok()
        );

        let mut bad = chart_at(0, 0, 6, 4);
        bad.colors = vec!["red;background:url(x)".into()];
        assert_eq!(
            at(&[bad], Device::Desktop),
            Err(
                "panels[0].colors[0]: \"red;background:url(x)\" is not a colour like #1f6feb"
                    .into()
            )
        );
        let mut empty = chart_at(0, 0, 6, 4);
        empty.variables.clear();
        assert!(
            at(&[empty], Device::Desktop)
                .expect_err("refused")
                .starts_with("panels[0].variables")
        );
        let mut axis = chart_at(0, 0, 6, 4);
        (axis.y_min, axis.y_max) = (Some(5.0), Some(5.0));
        assert!(
            at(&[axis], Device::Desktop)
                .expect_err("refused")
                .starts_with("panels[0].y_max")
        );
        let mut hidden = chart_at(0, 0, 6, 4);
        hidden.hidden = vec!["load5".into()];
        assert!(
            at(&[hidden], Device::Desktop)
                .expect_err("refused")
                .starts_with("panels[0].hidden")
        );
        let blank = Panel::text("t", " ".into());
        assert!(
            at(&[blank], Device::Desktop)
                .expect_err("refused")
                .starts_with("panels[0].text")
        );
        let many: Vec<Panel> = (0..49).map(|i| chart_at(0, i * 4, 12, 4)).collect();
        assert!(
            at(&many, Device::Desktop)
                .expect_err("refused")
                .starts_with("panels:")
        );
    }

    #[test]
    fn a_phone_starts_with_the_desktop_panels_stacked_in_reading_order() {
        let desktop = vec![
            chart_at(6, 2, 6, 4),
            Panel::text("Now", "x".into()),
            chart_at(0, 2, 6, 3),
        ];
        let phone = stacked(&desktop);
        let places: Vec<(u8, u16, u8, u8)> = phone.iter().map(|p| (p.x, p.y, p.w, p.h)).collect();
        assert_eq!(places, [(0, 0, 2, 2), (0, 2, 2, 3), (0, 5, 2, 4)]);
        assert_eq!(check(&phone, Device::Mobile), Ok(()));
        assert_eq!(
            check(&default_layout(&[info("q", "depth", 1.0)]), Device::Desktop),
            Ok(())
        );
    }
}

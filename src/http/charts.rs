//! Charts drawn on the server as SVG: no script, nothing fetched from
//! elsewhere, readable in print and in the WeChat browser. Every bar is
//! labelled with its figure, and each chart is shown beside its table.

use std::fmt::Write as _;

/// One series of a chart.
#[derive(Debug, Clone)]
pub struct Series {
    /// The legend.
    pub name: String,
    /// One value per category (`None`: no figure).
    pub values: Vec<Option<f64>>,
}

/// A bar chart: categories along the bottom, one bar per series in each.
#[derive(Debug, Clone)]
pub struct Bars {
    /// Title (also the SVG's accessible name).
    pub title: String,
    /// Category labels.
    pub categories: Vec<String>,
    /// Series.
    pub series: Vec<Series>,
    /// Categories drawn in the warning colour (大班额).
    pub highlight: Vec<bool>,
    /// Suffix of the figures (`%`, or empty).
    pub unit: String,
}

const COLOURS: [&str; 5] = ["#2f6db3", "#e08a1e", "#3a9a5b", "#8a5fb3", "#7a7a7a"];
const WARN: &str = "#c0392b";

fn escape(s: &str) -> String {
    s.replace('&', "&amp;").replace('<', "&lt;").replace('>', "&gt;").replace('"', "&quot;")
}

/// A figure as printed: whole numbers without decimals, rates with one.
pub fn figure(v: f64, unit: &str) -> String {
    if unit.is_empty() && v.fract() == 0.0 { format!("{v:.0}") } else { format!("{v:.1}{unit}") }
}

impl Bars {
    /// The SVG.
    pub fn svg(&self) -> String {
        let n = self.categories.len().max(1);
        let per = self.series.len().max(1);
        let bar = 18.0_f64.max(60.0 / per as f64);
        let group = bar * per as f64 + 14.0;
        let (left, top, height) = (44.0, 34.0, 180.0);
        let width = left + group * n as f64 + 16.0;
        let max = self.series.iter().flat_map(|s| s.values.iter().flatten().copied()).fold(0.0_f64, f64::max).max(1.0);
        let mut out = String::new();
        let _ = write!(
            out,
            r#"<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 {width:.0} {:.0}" width="100%" role="img" aria-label="{}" class="chart"><title>{}</title>"#,
            top + height + 62.0,
            escape(&self.title),
            escape(&self.title)
        );
        let _ = write!(
            out,
            r##"<text x="4" y="18" font-size="14" font-weight="bold" fill="#222">{}</text>"##,
            escape(&self.title)
        );
        // Axis and two guide lines.
        for k in 0..=2 {
            let y = top + height - height * f64::from(k) / 2.0;
            let _ = write!(
                out,
                r##"<line x1="{left}" y1="{y:.1}" x2="{:.1}" y2="{y:.1}" stroke="#ddd"/><text x="{:.1}" y="{:.1}" font-size="10" text-anchor="end" fill="#666">{}</text>"##,
                width - 8.0,
                left - 4.0,
                y + 3.0,
                escape(&figure((max * f64::from(k) / 2.0).round(), if self.unit.is_empty() { "" } else { &self.unit }))
            );
        }
        for (c, label) in self.categories.iter().enumerate() {
            let x0 = left + group * c as f64 + 7.0;
            for (s, series) in self.series.iter().enumerate() {
                // A bar of 0 has no height: no label either (the table beside says 0).
                let Some(v) = series.values.get(c).copied().flatten().filter(|v| *v != 0.0) else { continue };
                let h = height * v / max;
                let x = x0 + bar * s as f64;
                let y = top + height - h;
                let colour =
                    if self.highlight.get(c).copied().unwrap_or(false) { WARN } else { COLOURS[s % COLOURS.len()] };
                let _ = write!(
                    out,
                    r##"<rect x="{x:.1}" y="{y:.1}" width="{:.1}" height="{h:.1}" fill="{colour}"><title>{} {}：{}</title></rect><text x="{:.1}" y="{:.1}" font-size="10" text-anchor="middle" fill="#222">{}</text>"##,
                    bar - 2.0,
                    escape(label),
                    escape(&series.name),
                    escape(&figure(v, &self.unit)),
                    x + (bar - 2.0) / 2.0,
                    y - 3.0,
                    escape(&figure(v, &self.unit))
                );
            }
            let _ = write!(
                out,
                r##"<text x="{:.1}" y="{:.1}" font-size="11" text-anchor="middle" fill="#333">{}</text>"##,
                x0 + bar * per as f64 / 2.0,
                top + height + 16.0,
                escape(label)
            );
        }
        if self.series.len() > 1 {
            for (s, series) in self.series.iter().enumerate() {
                let x = left + 110.0 * s as f64;
                let y = top + height + 40.0;
                let _ = write!(
                    out,
                    r##"<rect x="{x:.1}" y="{:.1}" width="10" height="10" fill="{}"/><text x="{:.1}" y="{y:.1}" font-size="11" fill="#333">{}</text>"##,
                    y - 9.0,
                    COLOURS[s % COLOURS.len()],
                    x + 14.0,
                    escape(&series.name)
                );
            }
        }
        out.push_str("</svg>");
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_bar_carries_its_figure_and_text_is_escaped() {
        let chart = Bars {
            title: "班额<测试>".into(),
            categories: vec!["25人及以下".into(), "46-50人".into()],
            series: vec![Series { name: "班数".into(), values: vec![Some(12.0), Some(3.0)] }],
            highlight: vec![false, true],
            unit: String::new(),
        };
        let svg = chart.svg();
        assert!(svg.starts_with("<svg") && svg.ends_with("</svg>"));
        assert!(svg.contains(">12<") && svg.contains(">3<"), "{svg}");
        assert!(svg.contains("班额&lt;测试&gt;"));
        assert!(svg.contains(WARN));
        assert!(!svg.contains("<script"));
    }
}

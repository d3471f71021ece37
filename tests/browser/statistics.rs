//! The county dashboard in headless Chromium: the bureau opens 统计, every
//! chart is an SVG drawn on the server (no script) whose figures are those of
//! the table beside it; a table's count opens the list of its pupils.
//! Screenshots in `target/test-artefacts/pages/`.

use super::{browser_binaries, desktop_browser, sign_in_page};
use crate::helpers::*;
use fantoccini::Locator;

/// For each chart: its title, the figures printed in its SVG and the cells of its table.
const CHARTS: &str = r#"
    return Array.from(document.querySelectorAll('section.chart-block')).map(s => ({
        title: s.querySelector('h2').textContent,
        svg: Array.from(s.querySelectorAll('svg text')).map(t => t.textContent),
        cells: Array.from(s.querySelectorAll('table td')).map(t => t.textContent.trim()).filter(t => t !== ''),
        scripts: s.querySelectorAll('script').length,
    }));
"#;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_dashboard_draws_each_table_beside_its_chart_and_a_count_opens_its_pupils() {
    let Some((driver, chromium)) = browser_binaries() else { return };
    let shots = artefacts_dir().join("pages");
    std::fs::create_dir_all(&shots).unwrap();
    let app = spawn_app().await;
    let rows = (0..5u16).map(|i| pupil(&format!("看板{}", i + 1), (2018, 3, 1 + u32::from(i)), 70 + i, 3)).collect();
    assert!(import_rows(app.db(), TOWN, rows).await.committed);
    let rows = (0..3u16).map(|i| first_grader(&format!("新生{}", i + 1), 80 + i)).collect();
    assert!(import_rows(app.db(), CENTRAL, rows).await.committed);
    let (_driver, browser, _profile) =
        desktop_browser(&driver, &chromium, &artefacts_dir().join("chromedriver-statistics.log")).await;
    let base = app.base.clone();
    let outcome = async {
        sign_in_page(&browser, &base, "bureau").await?;
        browser.find(Locator::Css("a[href='/statistics']")).await?.click().await?;
        browser.wait().for_element(Locator::Css("section.chart-block svg")).await?;
        let text = browser.find(Locator::Css("main")).await?.text().await?;
        std::fs::write(shots.join("statistics.png"), browser.screenshot().await?).unwrap();
        let charts = browser.execute(CHARTS, vec![]).await?;
        browser.goto(&format!("{base}/reports/grade")).await?;
        std::fs::write(shots.join("report-grade.png"), browser.screenshot().await?).unwrap();
        browser.find(Locator::XPath("//tr[th='三年级']//td[1]/a")).await?.click().await?;
        browser.wait().for_element(Locator::Css("form[action='/reports/grade/export']")).await?;
        let list = browser.find(Locator::Css("main")).await?.text().await?;
        std::fs::write(shots.join("report-cell.png"), browser.screenshot().await?).unwrap();
        Ok::<_, fantoccini::error::CmdError>((text, charts, list))
    }
    .await;
    let _ = browser.close().await;
    let (text, charts, list) = outcome.expect("the browser session");

    assert!(text.contains("在校生 8 人"), "{text}");
    let charts = charts.as_array().expect("charts");
    let titles: Vec<&str> = charts.iter().map(|c| c["title"].as_str().unwrap()).collect();
    for part in ["各年级在校生数", "班额分布", "小学巩固率与辍学率", "控辍保学台账在册人数"]
    {
        assert!(titles.iter().any(|t| t.contains(part)), "{part} in {titles:?}");
    }
    for c in charts {
        assert_eq!(c["scripts"], 0, "no script in {}", c["title"]);
        let svg: Vec<&str> = c["svg"].as_array().unwrap().iter().map(|v| v.as_str().unwrap()).collect();
        for cell in c["cells"].as_array().unwrap() {
            let cell = cell.as_str().unwrap();
            // A bar of 0 has no height and no label; every other figure is printed on its bar.
            if cell != "0" && cell != "0.0%" {
                assert!(svg.contains(&cell), "{}: the table's {cell} is drawn in {svg:?}", c["title"]);
            }
        }
    }
    let grades = charts.iter().find(|c| c["title"].as_str().unwrap().contains("各年级")).unwrap();
    let cells: Vec<&str> = grades["cells"].as_array().unwrap().iter().map(|v| v.as_str().unwrap()).collect();
    assert!(cells.contains(&"5") && cells.contains(&"3"), "five third-graders and three first-graders: {cells:?}");
    for n in 1..=5 {
        assert!(list.contains(&format!("看板{n}")), "{list}");
    }
    assert!(!list.contains("新生1") && list.contains("共 5 人"), "{list}");
    assert_eq!(app.audit_count("report.cell", "grade", "ok").await, 1);
}

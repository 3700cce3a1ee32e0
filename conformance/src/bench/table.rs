//! Plain-text tables: a title, a header, rows; the first column left-aligned, the others right-
//! aligned, widths fitted to the content. And the number formats the tables share.

pub struct Table {
    title: String,
    header: Vec<String>,
    rows: Vec<Vec<String>>,
}

impl Table {
    pub fn new(title: impl Into<String>, header: Vec<String>) -> Self {
        Self {
            title: title.into(),
            header,
            rows: Vec::new(),
        }
    }

    pub fn row(&mut self, cells: Vec<String>) {
        self.rows.push(cells);
    }

    pub fn is_empty(&self) -> bool {
        self.rows.is_empty()
    }

    pub fn render(&self) -> String {
        let cols = self.header.len();
        let mut widths: Vec<usize> = self.header.iter().map(|h| h.chars().count()).collect();
        for row in &self.rows {
            for (w, cell) in widths.iter_mut().zip(row) {
                *w = (*w).max(cell.chars().count());
            }
        }
        let line = |cells: &[String]| {
            let mut out = String::new();
            for (i, w) in widths.iter().enumerate().take(cols) {
                let cell = cells.get(i).map_or("", String::as_str);
                if i == 0 {
                    out.push_str(&format!("{cell:<w$}"));
                } else {
                    out.push_str(&format!("  {cell:>w$}"));
                }
            }
            out.trim_end().to_string()
        };
        let mut out = format!("\n== {}\n", self.title);
        out.push_str(&line(&self.header));
        out.push('\n');
        let total: usize = widths.iter().sum::<usize>() + 2 * cols.saturating_sub(1);
        out.push_str(&"-".repeat(total));
        out.push('\n');
        for row in &self.rows {
            out.push_str(&line(row));
            out.push('\n');
        }
        out
    }
}

/// A figure with sensible precision (3 significant-ish digits), `-` when absent.
pub fn num(v: Option<f64>) -> String {
    match v {
        None => "-".into(),
        Some(v) if !v.is_finite() => "-".into(),
        Some(v) if v.abs() >= 100.0 => format!("{v:.0}"),
        Some(v) if v.abs() >= 10.0 => format!("{v:.1}"),
        Some(v) => format!("{v:.2}"),
    }
}

/// `1.23x`, `-` when absent.
pub fn times(r: Option<f64>) -> String {
    r.map_or_else(|| "-".into(), |r| format!("{r:.2}x"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn aligns_columns() {
        let mut t = Table::new("t", vec!["cell".into(), "v".into()]);
        t.row(vec!["PUT 4 KiB c=1".into(), "12".into()]);
        t.row(vec!["GET".into(), "1234".into()]);
        let text = t.render();
        let lines: Vec<&str> = text.lines().collect();
        assert_eq!(lines[1], "== t");
        assert_eq!(lines[2], "cell              v");
        assert_eq!(lines[4], "PUT 4 KiB c=1    12");
        assert_eq!(lines[5], "GET            1234");
    }

    #[test]
    fn formats_numbers() {
        assert_eq!(num(Some(1234.56)), "1235");
        assert_eq!(num(Some(12.345)), "12.3");
        assert_eq!(num(Some(1.2345)), "1.23");
        assert_eq!(num(None), "-");
        assert_eq!(times(Some(0.8)), "0.80x");
    }
}

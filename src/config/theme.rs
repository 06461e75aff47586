//! Theme = palette + roles. Views ask for a role (`theme.warning`), never a raw colour.

use ratatui::style::{Color, Modifier, Style};

/// Styles by role. Loaded from TOML (`themes/*.toml`), embedded defaults.
#[derive(Clone, Debug, PartialEq)]
pub struct Theme {
    pub name: String,
    /// Everything not otherwise styled.
    pub base: Style,
    /// The header bar.
    pub header: Style,
    /// Pane titles.
    pub title: Style,
    pub border: Style,
    pub border_focused: Style,
    /// The selected table row.
    pub selected: Style,
    /// Table column headings.
    pub column_header: Style,
    /// Secondary text (ages, counts, hints).
    pub muted: Style,
    /// Keys in the hint line and help.
    pub key: Style,
    pub ok: Style,
    pub warning: Style,
    pub error: Style,
    /// Cause codes in the detail pane.
    pub code: Style,
    /// Commands (kubectl/aws) in the detail pane.
    pub command: Style,
    /// The READ-ONLY badge.
    pub badge: Style,
    /// Filter / command line input.
    pub input: Style,
    // verdicts
    pub running: Style,
    pub pending: Style,
    pub stuck: Style,
    pub crashing: Style,
    pub stopped: Style,
    pub at_risk: Style,
}

impl Theme {
    /// Built-in dark theme (the embedded `themes/default.toml` describes the same).
    pub fn fallback() -> Theme {
        let fg = Style::default().fg(Color::Gray);
        Theme {
            name: "default".into(),
            base: fg,
            header: Style::default().fg(Color::White).bg(Color::Indexed(236)),
            title: Style::default()
                .fg(Color::Cyan)
                .add_modifier(Modifier::BOLD),
            border: Style::default().fg(Color::DarkGray),
            border_focused: Style::default().fg(Color::Cyan),
            selected: Style::default()
                .bg(Color::Indexed(238))
                .add_modifier(Modifier::BOLD),
            column_header: Style::default()
                .fg(Color::White)
                .add_modifier(Modifier::BOLD),
            muted: Style::default().fg(Color::DarkGray),
            key: Style::default()
                .fg(Color::Yellow)
                .add_modifier(Modifier::BOLD),
            ok: Style::default().fg(Color::Green),
            warning: Style::default().fg(Color::Yellow),
            error: Style::default().fg(Color::Red).add_modifier(Modifier::BOLD),
            code: Style::default().fg(Color::Magenta),
            command: Style::default().fg(Color::Cyan),
            badge: Style::default()
                .fg(Color::Black)
                .bg(Color::Yellow)
                .add_modifier(Modifier::BOLD),
            input: Style::default().fg(Color::White),
            running: Style::default().fg(Color::Green),
            pending: Style::default().fg(Color::Yellow),
            stuck: Style::default().fg(Color::LightRed),
            crashing: Style::default().fg(Color::Red).add_modifier(Modifier::BOLD),
            stopped: Style::default().fg(Color::DarkGray),
            at_risk: Style::default()
                .fg(Color::LightMagenta)
                .add_modifier(Modifier::BOLD),
        }
    }

    /// No colours at all (`NO_COLOR`): meaning is carried by text and bold/reverse only.
    pub fn no_color() -> Theme {
        let plain = Style::default();
        let bold = Style::default().add_modifier(Modifier::BOLD);
        Theme {
            name: "no-color".into(),
            base: plain,
            header: Style::default().add_modifier(Modifier::REVERSED),
            title: bold,
            border: plain,
            border_focused: bold,
            selected: Style::default().add_modifier(Modifier::REVERSED),
            column_header: bold,
            muted: plain,
            key: bold,
            ok: plain,
            warning: bold,
            error: bold,
            code: plain,
            command: plain,
            badge: Style::default().add_modifier(Modifier::REVERSED | Modifier::BOLD),
            input: plain,
            running: plain,
            pending: plain,
            stuck: bold,
            crashing: bold,
            stopped: plain,
            at_risk: bold,
        }
    }
}

//! Keys → actions. The help overlay is generated from [`KEYMAP`], so it cannot drift.

use crossterm::event::{KeyCode, KeyEvent, KeyModifiers};

/// What the operator asked for. Intents are data.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Action {
    Quit,
    Up,
    Down,
    Top,
    Bottom,
    PageUp,
    PageDown,
    FocusNext,
    FocusPrev,
    Open,
    Back,
    StartFilter,
    StartCommand,
    Help,
    ToggleHealthy,
    ToggleTimelineScope,
    CycleSort,
    ReverseSort,
}

/// One binding: the key(s) as shown in help, the action, and what it does.
pub struct Binding {
    pub keys: &'static str,
    pub action: Action,
    pub help: &'static str,
    /// Shown in the one-line key hints at the bottom.
    pub hint: Option<&'static str>,
}

/// The keymap (k9s/vim habits). Order is the help order.
pub const KEYMAP: &[Binding] = &[
    Binding {
        keys: "j / ↓",
        action: Action::Down,
        help: "next row / scroll down",
        hint: None,
    },
    Binding {
        keys: "k / ↑",
        action: Action::Up,
        help: "previous row / scroll up",
        hint: None,
    },
    Binding {
        keys: "g / Home",
        action: Action::Top,
        help: "first row",
        hint: None,
    },
    Binding {
        keys: "G / End",
        action: Action::Bottom,
        help: "last row",
        hint: None,
    },
    Binding {
        keys: "PgUp / Ctrl-b",
        action: Action::PageUp,
        help: "page up",
        hint: None,
    },
    Binding {
        keys: "PgDn / Ctrl-f",
        action: Action::PageDown,
        help: "page down",
        hint: None,
    },
    Binding {
        keys: "Tab",
        action: Action::FocusNext,
        help: "focus next pane (table → detail → timeline)",
        hint: Some("focus"),
    },
    Binding {
        keys: "Shift-Tab",
        action: Action::FocusPrev,
        help: "focus previous pane",
        hint: None,
    },
    Binding {
        keys: "Enter",
        action: Action::Open,
        help: "open the selected unit full screen",
        hint: Some("open"),
    },
    Binding {
        keys: "Esc",
        action: Action::Back,
        help: "close / clear filter / back to table",
        hint: None,
    },
    Binding {
        keys: "/",
        action: Action::StartFilter,
        help: "filter: text, or field:value (kind: ns: name: state: verdict: code: host: source:)",
        hint: Some("filter"),
    },
    Binding {
        keys: ":",
        action: Action::StartCommand,
        help: "command: filter, sort, healthy, theme, help, q",
        hint: Some("cmd"),
    },
    Binding {
        keys: "a",
        action: Action::ToggleHealthy,
        help: "show / hide healthy (Running) units",
        hint: Some("all"),
    },
    Binding {
        keys: "t",
        action: Action::ToggleTimelineScope,
        help: "timeline: selected unit / everything",
        hint: Some("timeline"),
    },
    Binding {
        keys: "s",
        action: Action::CycleSort,
        help: "sort by next column",
        hint: Some("sort"),
    },
    Binding {
        keys: "S",
        action: Action::ReverseSort,
        help: "reverse sort order",
        hint: None,
    },
    Binding {
        keys: "?",
        action: Action::Help,
        help: "this help",
        hint: Some("help"),
    },
    Binding {
        keys: "q / Ctrl-c",
        action: Action::Quit,
        help: "quit",
        hint: Some("quit"),
    },
];

/// Maps a key press in normal mode to an action.
pub fn action_for(key: KeyEvent) -> Option<Action> {
    let ctrl = key.modifiers.contains(KeyModifiers::CONTROL);
    Some(match key.code {
        KeyCode::Char('c') if ctrl => Action::Quit,
        KeyCode::Char('b') if ctrl => Action::PageUp,
        KeyCode::Char('f') if ctrl => Action::PageDown,
        KeyCode::Char('d') if ctrl => Action::PageDown,
        KeyCode::Char('u') if ctrl => Action::PageUp,
        _ if ctrl => return None,
        KeyCode::Char('q') => Action::Quit,
        KeyCode::Char('j') | KeyCode::Down => Action::Down,
        KeyCode::Char('k') | KeyCode::Up => Action::Up,
        KeyCode::Char('g') | KeyCode::Home => Action::Top,
        KeyCode::Char('G') | KeyCode::End => Action::Bottom,
        KeyCode::PageUp => Action::PageUp,
        KeyCode::PageDown => Action::PageDown,
        KeyCode::Tab => Action::FocusNext,
        KeyCode::BackTab => Action::FocusPrev,
        KeyCode::Enter => Action::Open,
        KeyCode::Esc => Action::Back,
        KeyCode::Char('/') => Action::StartFilter,
        KeyCode::Char(':') => Action::StartCommand,
        KeyCode::Char('?') => Action::Help,
        KeyCode::Char('a') => Action::ToggleHealthy,
        KeyCode::Char('t') => Action::ToggleTimelineScope,
        KeyCode::Char('s') => Action::CycleSort,
        KeyCode::Char('S') => Action::ReverseSort,
        _ => return None,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_bound_action_is_reachable_and_documented_once() {
        use crossterm::event::KeyEvent;
        let keys = [
            KeyCode::Char('q'),
            KeyCode::Char('j'),
            KeyCode::Char('k'),
            KeyCode::Char('g'),
            KeyCode::Char('G'),
            KeyCode::PageUp,
            KeyCode::PageDown,
            KeyCode::Tab,
            KeyCode::BackTab,
            KeyCode::Enter,
            KeyCode::Esc,
            KeyCode::Char('/'),
            KeyCode::Char(':'),
            KeyCode::Char('?'),
            KeyCode::Char('a'),
            KeyCode::Char('t'),
            KeyCode::Char('s'),
            KeyCode::Char('S'),
        ];
        let reachable: Vec<Action> = keys
            .iter()
            .filter_map(|k| action_for(KeyEvent::new(*k, KeyModifiers::NONE)))
            .collect();
        for b in KEYMAP {
            assert!(
                reachable.contains(&b.action),
                "{:?} is in help but no key reaches it",
                b.action
            );
            assert_eq!(KEYMAP.iter().filter(|o| o.action == b.action).count(), 1);
        }
        assert_eq!(
            action_for(KeyEvent::new(KeyCode::Char('c'), KeyModifiers::CONTROL)),
            Some(Action::Quit)
        );
    }
}

//! Keyboard navigation of the class table.

use std::sync::Arc;

use eframe::egui;

use super::rows::Row;
use super::table::row_height;
use super::SummaryView;
use crate::gui::Selection;
use crate::store::Document;

impl SummaryView {
    /// Arrow keys, Home/End, Page Up/Down and Enter, while no widget has keyboard focus.
    pub(super) fn keyboard(
        &mut self,
        ui: &egui::Ui,
        snap: &Arc<Document>,
        selection: &mut Selection,
    ) {
        use egui::{Event, Key};
        const KEYS: [Key; 9] = [
            Key::ArrowUp,
            Key::ArrowDown,
            Key::ArrowLeft,
            Key::ArrowRight,
            Key::Home,
            Key::End,
            Key::PageUp,
            Key::PageDown,
            Key::Enter,
        ];
        if ui.ctx().memory(|m| m.focused().is_some()) {
            return;
        }
        // Every press this frame, in order (a fast typist or a test may send several).
        let mut pressed = [None; 8];
        let mut count = 0;
        ui.input_mut(|i| {
            i.events.retain(|e| match e {
                Event::Key {
                    key,
                    pressed: true,
                    modifiers,
                    ..
                } if modifiers.is_none() && KEYS.contains(key) => {
                    if count < pressed.len() {
                        pressed[count] = Some(*key);
                        count += 1;
                    }
                    false
                }
                _ => true,
            });
        });
        let page = ((ui.available_height() / row_height(ui)) as isize - 2).max(1);
        for key in pressed.into_iter().flatten() {
            self.key(key, page, selection);
            // An expand or collapse changes the rows the next key moves over.
            self.refresh(ui.ctx(), snap);
        }
    }

    fn key(&mut self, key: egui::Key, page: isize, selection: &mut Selection) {
        use egui::Key;
        if self.rows.is_empty() {
            return;
        }
        let last = self.rows.len() as isize - 1;
        let current = self.cursor_row();
        let at = current.map(|i| i as isize);
        let target = match key {
            Key::ArrowUp => match at {
                Some(i) => self.selectable_from(i - 1, -1),
                None => self.selectable_from(0, 1),
            },
            Key::ArrowDown => match at {
                Some(i) => self.selectable_from(i + 1, 1),
                None => self.selectable_from(0, 1),
            },
            Key::Home => self.selectable_from(0, 1),
            Key::End => self.selectable_from(last, -1),
            Key::PageUp => {
                let i = at.map_or(0, |i| (i - page).max(0));
                self.selectable_from(i, 1)
            }
            Key::PageDown => {
                let i = at.map_or(0, |i| (i + page).min(last));
                self.selectable_from(i, -1)
            }
            Key::ArrowRight | Key::ArrowLeft | Key::Enter => {
                let Some(i) = current else {
                    return;
                };
                match (key, self.rows[i]) {
                    (Key::ArrowRight, Row::Class(c)) if !self.expanded.contains(&c) => {
                        self.set_expanded(c, true);
                        None
                    }
                    // Already open: step into the instances.
                    (Key::ArrowRight, Row::Class(_)) => self.selectable_from(i as isize + 1, 1),
                    (Key::ArrowLeft, Row::Class(c)) => {
                        self.set_expanded(c, false);
                        None
                    }
                    // From an instance to its class.
                    (Key::ArrowLeft, Row::Instance { class, .. }) => {
                        self.rows.iter().position(|&r| r == Row::Class(class))
                    }
                    (Key::Enter, Row::Class(c)) => {
                        self.set_expanded(c, !self.expanded.contains(&c));
                        None
                    }
                    _ => None,
                }
            }
            _ => None,
        };
        if let Some(i) = target {
            self.select_row(i, selection);
        }
    }
}

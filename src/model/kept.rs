//! A kept desktop as a plan holds it: nine in ten desktops of a large inventory are kept, and
//! only the human view (context lines, column widths) and a saved plan's recheck read them,
//! so each is one allocation, not five (100,000 desktops: some 12 MiB, not 27).

use super::{Desktop, EntryRef};

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Kept {
    /// ID, name, user, status and creation time, one after the other.
    text: Box<str>,
    /// Where each field but the last ends in `text`.
    ends: [u32; 4],
}

impl Kept {
    pub fn as_ref(&self) -> EntryRef<'_> {
        let [id, name, user, status] = self.ends.map(|end| end as usize);
        let text = &*self.text;
        EntryRef {
            desktop_id: &text[..id],
            computer_name: &text[id..name],
            user_name: &text[name..user],
            status: &text[user..status],
            created: &text[status..],
        }
    }
}

impl From<&Desktop> for Kept {
    fn from(desktop: &Desktop) -> Self {
        let fields = [&desktop.id, &desktop.name, &desktop.user, &desktop.status];
        let mut text = String::with_capacity(
            fields.iter().map(|field| field.len()).sum::<usize>() + desktop.created.len(),
        );
        let ends = fields.map(|field| {
            text.push_str(field);
            u32::try_from(text.len()).expect("a desktop's fields are under 4 GiB")
        });
        text.push_str(&desktop.created);
        Kept {
            text: text.into_boxed_str(),
            ends,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_back_each_field_even_empty_or_not_ascii() {
        let desktop = Desktop {
            id: "id-1".into(),
            name: "Zoë".into(),
            user: String::new(),
            status: "ACTIVE".into(),
            task_status: "deleting".into(),
            created: "2024-01-01T00:00:00Z".into(),
            enterprise_project_id: "0".into(),
            tags: vec![("k".into(), "v".into())],
        };
        let kept = Kept::from(&desktop);
        assert_eq!(
            kept.as_ref(),
            EntryRef {
                desktop_id: "id-1",
                computer_name: "Zoë",
                user_name: "",
                status: "ACTIVE",
                created: "2024-01-01T00:00:00Z",
            }
        );
    }
}

//! Established connections: a peer the host talks to now that it did not at the baseline (a
//! reverse shell, a tunnel, a beacon). A connection that ended is normal and not reported; nor
//! are the clients of the host's own services (the collector leaves out connections whose local
//! port is a listening one, and a local client's side of them).

use super::{Change, Report, delta};
use crate::audit::surface::{Surface, kind};

impl Report {
    pub(super) fn connections(&mut self, before: &Surface, now: &Surface) {
        for (peer, b, a) in delta(before.kind(kind::CONNECTION), now.kind(kind::CONNECTION)) {
            let (None, Some(programs)) = (b, a) else {
                continue;
            };
            let programs = if programs.is_empty() {
                "unknown program"
            } else {
                programs
            };
            self.push(
                "connections",
                peer,
                Change::Added,
                format!("new established connection {peer} ({programs})"),
            );
        }
    }
}

#[cfg(test)]
mod tests {
    use crate::audit::drift::{Footprint, compare};
    use crate::audit::surface::{Surface, kind};

    fn surface(items: &[(&str, &str)]) -> Surface {
        let items: Vec<_> = items
            .iter()
            .map(|(peer, programs)| (kind::CONNECTION, *peer, *programs))
            .collect();
        Surface::of(&items)
    }

    #[test]
    fn only_new_peers_are_named_with_their_programs() {
        let before = surface(&[
            ("tcp 192.0.2.10:3306", "php-fpm8.2"),
            ("tcp 192.0.2.20:443", "curl"),
        ]);
        let after = surface(&[
            // Still there, other programs: the same peer, not reported.
            ("tcp 192.0.2.10:3306", "mariadb php-fpm8.2"),
            ("tcp 10.201.1.2:7777", "bash"),
            ("udp 198.51.100.7:53", ""),
        ]);
        let drift = compare(&before, &after, &Footprint::default());
        let items = drift.triples();
        assert_eq!(
            items,
            [
                (
                    "connections",
                    "tcp 10.201.1.2:7777",
                    "new established connection tcp 10.201.1.2:7777 (bash)"
                ),
                (
                    "connections",
                    "udp 198.51.100.7:53",
                    "new established connection udp 198.51.100.7:53 (unknown program)"
                ),
            ]
        );
        // Connections that ended are no drift.
        let fewer = surface(&[("tcp 192.0.2.10:3306", "php-fpm8.2")]);
        assert!(!compare(&after, &fewer, &Footprint::default()).found());
    }
}

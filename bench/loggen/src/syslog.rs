//! `/var/log/syslog` as rsyslog writes it (RFC 3164 layout without the
//! priority: `Mmm dd hh:mm:ss host program[pid]: message`), per host role:
//! every host has sshd, cron, systemd, logind, sudo and firewall (kernel UFW)
//! lines; Kubernetes nodes add kubelet (klog) and containerd, database hosts
//! PostgreSQL, cache hosts Redis, and the bastion mostly sees SSH
//! brute-forcing.

use std::io::{self, Write};

use crate::clock::Civil;
use crate::rng::{Rng, mix, put_hex, rand_hex};

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Role {
    Web,
    Db,
    Cache,
    K8s,
    Bastion,
}

const ATTACK_USERS: [&str; 14] = [
    "admin",
    "test",
    "user",
    "oracle",
    "postgres",
    "ubuntu",
    "git",
    "ftpuser",
    "guest",
    "support",
    "pi",
    "deploy",
    "hadoop",
    "minecraft",
];
/// (user, uid, key fingerprint) of the people and tools that really log in.
const OPERATORS: [(&str, u32, &str); 3] = [
    (
        "deploy",
        1001,
        "ED25519 SHA256:q3Zk0Vd8x1mV7Hn4o2bQpL9tY6wR5sE1uJcAfKgTz0M",
    ),
    (
        "ansible",
        1002,
        "RSA SHA256:Jm2eXw9Rk8pL1nB4vC7zQ0sD3fG6hT5yU2iO9aP8lKc",
    ),
    (
        "alice",
        1003,
        "ED25519 SHA256:8fHq2Lm0Xv9Ns3Kd7Rt1Wb5Yc4Pz6Ge2Jo0Ua8Mi3Qs",
    ),
];
const CRON_COMMANDS: [(&str, &str); 6] = [
    ("root", "   cd / && run-parts --report /etc/cron.hourly"),
    (
        "root",
        "command -v debian-sa1 > /dev/null && debian-sa1 1 1",
    ),
    ("root", "/usr/local/bin/backup.sh > /dev/null 2>&1"),
    (
        "root",
        "test -x /usr/sbin/anacron || { cd / && run-parts --report /etc/cron.daily; }",
    ),
    ("deploy", "/home/deploy/bin/rotate-uploads --keep 14"),
    ("root", "/usr/bin/certbot renew --quiet"),
];
const UNITS: [(&str, &str); 6] = [
    ("apt-daily", "Daily apt download activities"),
    ("systemd-tmpfiles-clean", "Cleanup of Temporary Directories"),
    ("logrotate", "Rotate log files"),
    ("sysstat-collect", "system activity accounting tool"),
    ("man-db", "Daily man-db regeneration"),
    (
        "fstrim",
        "Discard unused blocks on filesystems from /etc/fstab",
    ),
];
const PORTS: [u16; 12] = [
    22, 23, 80, 443, 445, 3389, 8080, 5900, 6379, 2375, 8443, 5060,
];
const PODS: [&str; 6] = [
    "checkout-7d9f8b6c4-x2k9p",
    "catalog-5c6b7f9d8-qv4lm",
    "search-6f8d9c7b5-7hz2w",
    "auth-84b6c9d7f-tn5rx",
    "cart-69d7c8b5f-m3k8d",
    "coredns-7c65d6cfc9-2lxmq",
];

/// One host's stream and what it remembers between lines.
#[derive(Clone, Debug)]
pub struct Host {
    name: String,
    role: Role,
    ip: String,
    mac: String,
    boot_ns: i64,
    next_pid: u64,
    session: u64,
    pg_line: u64,
}

impl Host {
    pub fn new(name: String, role: Role, index: u64, first_ns: i64) -> Self {
        let h = mix(index ^ 0x7379_736c_6f67);
        let mut mac = String::new();
        for i in 0..6 {
            if i > 0 {
                mac.push(':');
            }
            let byte = if i == 0 { 0x52 } else { (h >> (i * 8)) & 0xFF };
            mac.push_str(&format!("{byte:02x}"));
        }
        Self {
            name,
            role,
            ip: format!("10.0.{}.{}", index % 4, 10 + index),
            mac,
            // Up for between 3 and 90 days when the run starts.
            boot_ns: first_ns - (3 + (h % 87) as i64) * 86_400 * 1_000_000_000,
            next_pid: 40_000 + (h >> 40) % 200_000,
            session: 1_000 + (h >> 20) % 9_000,
            pg_line: 1,
        }
    }

    fn pid(&mut self, rng: &mut Rng) -> u64 {
        self.next_pid += 1 + rng.skewed(60, 3.0);
        if self.next_pid > 4_194_000 {
            self.next_pid = 300;
        }
        self.next_pid
    }

    pub fn write_line(
        &mut self,
        out: &mut Vec<u8>,
        rng: &mut Rng,
        ts_ns: i64,
        needle: Option<&[u8]>,
    ) -> io::Result<()> {
        let civil = Civil::from_ns(ts_ns);
        civil.write_syslog(out)?;
        out.push(b' ');
        out.extend_from_slice(self.name.as_bytes());
        out.push(b' ');
        if let Some(token) = needle {
            let pid = self.pid(rng);
            write!(out, "sshd[{pid}]: Invalid user ")?;
            out.extend_from_slice(token);
            write!(
                out,
                " from {} port {}",
                attacker_ip(rng),
                rng.range(1024, 65_535)
            )?;
            return Ok(());
        }
        // sshd, cron, systemd, kernel, logind, sudo, chrony, role-specific.
        let weights: [u32; 8] = match self.role {
            Role::Bastion => [60, 10, 8, 14, 3, 1, 1, 0],
            Role::K8s => [4, 6, 22, 12, 1, 1, 1, 45],
            Role::Db => [8, 14, 10, 14, 2, 2, 1, 40],
            Role::Cache => [8, 14, 10, 16, 2, 1, 1, 25],
            Role::Web => [14, 22, 14, 40, 3, 3, 1, 0],
        };
        match rng.weighted(&weights) {
            0 => self.sshd(out, rng),
            1 => self.cron(out, rng),
            2 => self.systemd(out, rng),
            3 => self.kernel(out, rng, ts_ns),
            4 => {
                let n = self.session;
                let user = OPERATORS[rng.below(3) as usize].0;
                if rng.chance(500) {
                    write!(out, "systemd-logind[812]: New session {n} of user {user}.")
                } else {
                    write!(out, "systemd-logind[812]: Removed session {n}.")
                }
            }
            5 => {
                let cmd = rng.pick(&[
                    "/usr/bin/systemctl restart nginx",
                    "/usr/bin/journalctl -u kubelet --since -1h",
                    "/usr/bin/apt-get upgrade -y",
                    "/usr/bin/tail -n 200 /var/log/syslog",
                ]);
                write!(
                    out,
                    "sudo:   deploy : TTY=pts/{} ; PWD=/home/deploy ; USER=root ; COMMAND={cmd}",
                    rng.below(4)
                )
            }
            6 => write!(
                out,
                "chronyd[701]: Selected source {} ({}.debian.pool.ntp.org)",
                rng.pick(&["162.159.200.1", "193.158.22.13", "85.199.214.98"]),
                rng.below(4)
            ),
            _ => match self.role {
                Role::K8s => self.k8s(out, rng, &civil, ts_ns),
                Role::Db => self.postgres(out, rng, &civil),
                _ => self.redis(out, rng, &civil),
            },
        }
    }

    fn sshd(&mut self, out: &mut Vec<u8>, rng: &mut Rng) -> io::Result<()> {
        let pid = self.pid(rng);
        let port = rng.range(1024, 65_535);
        let brute = if self.role == Role::Bastion { 900 } else { 600 };
        if rng.chance(brute) {
            let ip = attacker_ip(rng);
            let user = if rng.chance(300) {
                "root"
            } else {
                *rng.pick(&ATTACK_USERS)
            };
            let invalid = if user == "root" { "" } else { "invalid user " };
            return match rng.below(7) {
                0 if !invalid.is_empty() => write!(
                    out,
                    "sshd[{pid}]: Invalid user {user} from {ip} port {port}"
                ),
                0 | 1 => write!(
                    out,
                    "sshd[{pid}]: Failed password for {invalid}{user} from {ip} port {port} ssh2"
                ),
                2 => write!(
                    out,
                    "sshd[{pid}]: Connection closed by {}{user} {ip} port {port} [preauth]",
                    if invalid.is_empty() {
                        "authenticating user "
                    } else {
                        invalid
                    }
                ),
                3 => write!(
                    out,
                    "sshd[{pid}]: Received disconnect from {ip} port {port}:11: Bye Bye [preauth]"
                ),
                4 => write!(
                    out,
                    "sshd[{pid}]: Disconnected from {}{user} {ip} port {port} [preauth]",
                    if invalid.is_empty() {
                        "authenticating user "
                    } else {
                        invalid
                    }
                ),
                5 => write!(
                    out,
                    "sshd[{pid}]: error: kex_exchange_identification: Connection closed by remote host"
                ),
                _ => write!(
                    out,
                    "sshd[{pid}]: pam_unix(sshd:auth): authentication failure; logname= uid=0 euid=0 tty=ssh ruser= rhost={ip}  user={user}"
                ),
            };
        }
        let (user, uid, key) = OPERATORS[rng.weighted(&[6, 3, 1])];
        let from = format!("10.0.{}.{}", rng.below(4), rng.range(2, 40));
        match rng.below(5) {
            0 => {
                self.session += 1;
                write!(
                    out,
                    "sshd[{pid}]: Accepted publickey for {user} from {from} port {port} ssh2: {key}"
                )
            }
            1 => write!(
                out,
                "sshd[{pid}]: pam_unix(sshd:session): session opened for user {user}(uid={uid}) by (uid=0)"
            ),
            2 => write!(
                out,
                "sshd[{pid}]: pam_unix(sshd:session): session closed for user {user}"
            ),
            3 => write!(
                out,
                "sshd[{pid}]: Received disconnect from {from} port {port}:11: disconnected by user"
            ),
            _ => write!(
                out,
                "sshd[{pid}]: Disconnected from user {user} {from} port {port}"
            ),
        }
    }

    fn cron(&mut self, out: &mut Vec<u8>, rng: &mut Rng) -> io::Result<()> {
        let pid = self.pid(rng);
        let (user, cmd) = CRON_COMMANDS[rng.weighted(&[20, 12, 3, 2, 2, 1])];
        let uid = if user == "root" { 0 } else { 1001 };
        match rng.below(3) {
            0 => write!(
                out,
                "CRON[{pid}]: pam_unix(cron:session): session opened for user {user}(uid={uid}) by (uid=0)"
            ),
            1 => write!(out, "CRON[{pid}]: ({user}) CMD ({cmd})"),
            _ => write!(
                out,
                "CRON[{pid}]: pam_unix(cron:session): session closed for user {user}"
            ),
        }
    }

    fn systemd(&mut self, out: &mut Vec<u8>, rng: &mut Rng) -> io::Result<()> {
        let n = self.session;
        if self.role == Role::K8s && rng.chance(700) {
            // Kubernetes nodes log a mount unit for every exec probe.
            out.extend_from_slice(b"systemd[1]: run-containerd-runc-k8s.io-");
            rand_hex(out, rng, 64);
            out.extend_from_slice(b"-runc.");
            put_hex(out, rng.next_u64(), 6);
            out.extend_from_slice(b".mount: Deactivated successfully.");
            return Ok(());
        }
        let (unit, desc) = UNITS[rng.weighted(&[3, 2, 2, 8, 1, 1])];
        match rng.below(8) {
            0 => write!(
                out,
                "systemd[1]: Started session-{n}.scope - Session {n} of User deploy."
            ),
            1 => write!(
                out,
                "systemd[1]: session-{n}.scope: Deactivated successfully."
            ),
            2 => write!(out, "systemd[1]: Starting {unit}.service - {desc}..."),
            3 => write!(out, "systemd[1]: {unit}.service: Deactivated successfully."),
            4 => write!(out, "systemd[1]: Finished {unit}.service - {desc}."),
            5 => write!(
                out,
                "systemd[1]: {unit}.service: Consumed {}ms CPU time.",
                rng.range(3, 900)
            ),
            6 => write!(out, "systemd[1]: Started {unit}.timer - {desc} timer."),
            _ => write!(
                out,
                "systemd[{}]: Reached target timers.target - Timers.",
                self.next_pid % 7000 + 1000
            ),
        }
    }

    fn kernel(&mut self, out: &mut Vec<u8>, rng: &mut Rng, ts_ns: i64) -> io::Result<()> {
        let up = (ts_ns - self.boot_ns).max(0);
        write!(
            out,
            "kernel: [{:>5}.{:06}] ",
            up / 1_000_000_000,
            up % 1_000_000_000 / 1_000
        )?;
        if self.role == Role::K8s && rng.chance(350) {
            out.extend_from_slice(b"cni0: port ");
            let port = rng.range(2, 30);
            out.extend_from_slice(format!("{port}(veth").as_bytes());
            put_hex(out, rng.next_u64(), 8);
            let state = rng.pick(&["blocking", "forwarding", "disabled"]);
            return write!(out, ") entered {state} state");
        }
        if rng.chance(8) {
            return write!(
                out,
                "TCP: request_sock_TCP: Possible SYN flooding on port {}. Sending cookies.  Check SNMP counters.",
                if self.role == Role::Db { 5432 } else { 443 }
            );
        }
        let tcp = rng.chance(850);
        let len = if tcp {
            40 + 4 * rng.below(6)
        } else {
            rng.range(28, 420)
        };
        write!(
            out,
            "[UFW BLOCK] IN=eth0 OUT= MAC={}:fe:ff:ff:ff:ff:ff:08:00 SRC={} DST={} LEN={len} TOS=0x00 PREC=0x00 TTL={} ID={} ",
            self.mac,
            attacker_ip(rng),
            self.ip,
            rng.range(38, 250),
            rng.below(65_536)
        )?;
        let spt = rng.range(1024, 65_535);
        let dpt = PORTS[rng.skewed(PORTS.len() as u64, 1.6) as usize];
        if tcp {
            write!(
                out,
                "PROTO=TCP SPT={spt} DPT={dpt} WINDOW={} RES=0x00 SYN URGP=0",
                rng.pick(&[1024, 65535, 29200, 14600])
            )
        } else {
            write!(out, "PROTO=UDP SPT={spt} DPT={dpt} LEN={}", len - 20)
        }
    }

    fn k8s(
        &mut self,
        out: &mut Vec<u8>,
        rng: &mut Rng,
        civil: &Civil,
        ts_ns: i64,
    ) -> io::Result<()> {
        let pod = *rng.pick(&PODS);
        if rng.chance(300) {
            out.extend_from_slice(b"containerd[918]: time=\"");
            civil.write_rfc3339(out, 9)?;
            out.extend_from_slice(b"\" level=info msg=");
            return match rng.below(4) {
                0 => {
                    out.extend_from_slice(b"\"StartContainer for \\\"");
                    rand_hex(out, rng, 64);
                    out.extend_from_slice(b"\\\" returns successfully\"");
                    Ok(())
                }
                1 => {
                    out.extend_from_slice(b"\"shim disconnected\" id=");
                    rand_hex(out, rng, 64);
                    out.extend_from_slice(b" namespace=k8s.io");
                    Ok(())
                }
                2 => write!(out, "\"cleaning up dead shim\" namespace=k8s.io"),
                _ => write!(
                    out,
                    "\"PullImage \\\"registry.internal/shop/{}:{}\\\" returns image reference \\\"sha256:{:016x}\\\"\"",
                    pod.split('-').next().unwrap_or(pod),
                    ["1.14.2", "3.0.1", "0.9.3"][rng.below(3) as usize],
                    mix(ts_ns as u64 / 3_600_000_000_000)
                ),
            };
        }
        let severity = if rng.chance(80) { 'E' } else { 'I' };
        write!(out, "kubelet[1187]: {severity}")?;
        civil.write_klog(out)?;
        out.extend_from_slice(b"    1187 ");
        let ns = if pod.starts_with("coredns") {
            "kube-system"
        } else {
            "prod"
        };
        if severity == 'E' {
            return write!(
                out,
                "prober.go:104] \"Probe failed\" probeType=\"Readiness\" pod=\"{ns}/{pod}\" podUID=\"{:08x}-{:04x}-4{:03x}-a{:03x}-{:012x}\" containerName=\"{}\" probeResult=\"failure\" output=\"Get \\\"http://10.42.{}.{}:8080/healthz\\\": context deadline exceeded (Client.Timeout exceeded while awaiting headers)\"",
                mix(pod.len() as u64) as u32,
                mix(pod.len() as u64 + 1) as u16,
                mix(pod.len() as u64 + 2) & 0xFFF,
                mix(pod.len() as u64 + 3) & 0xFFF,
                mix(pod.len() as u64 + 4) & 0xFFFF_FFFF_FFFF,
                pod.split('-').next().unwrap_or(pod),
                rng.below(4),
                rng.range(2, 250)
            );
        }
        match rng.below(4) {
            0 => write!(
                out,
                "kubelet.go:2468] \"SyncLoop (probe)\" probe=\"readiness\" status=\"ready\" pod=\"{ns}/{pod}\""
            ),
            1 => write!(
                out,
                "kubelet_pods.go:1011] \"Unable to retrieve pull secret, the image pull may not succeed.\" pod=\"{ns}/{pod}\" secret=\"\" err=\"secret \\\"regcred\\\" not found\""
            ),
            2 => write!(
                out,
                "kubelet_volumes.go:163] \"Cleaned up orphaned pod volumes dir\" podUID=\"{:08x}\" path=\"/var/lib/kubelet/pods/{:08x}/volumes\"",
                rng.next_u64() as u32,
                rng.next_u64() as u32
            ),
            _ => write!(
                out,
                "container_gc.go:88] \"Attempting to delete unused containers\""
            ),
        }
    }

    fn postgres(&mut self, out: &mut Vec<u8>, rng: &mut Rng, civil: &Civil) -> io::Result<()> {
        let pid = self.pid(rng);
        let line = self.pg_line;
        self.pg_line += 1;
        write!(
            out,
            "postgres[{pid}]: [{line}-1] {}-{:02}-{:02} {:02}:{:02}:{:02}.{:03} UTC [{pid}] ",
            civil.year,
            civil.month,
            civil.day,
            civil.hour,
            civil.minute,
            civil.second,
            civil.nanos / 1_000_000
        )?;
        let client = format!("10.42.{}.{}", rng.below(4), rng.range(2, 250));
        let app = rng.pick(&["checkout", "catalog", "inventory", "payments", "auth"]);
        let port = rng.range(32_768, 60_999);
        match rng.weighted(&[20, 20, 20, 14, 4, 3, 3, 1]) {
            0 => write!(out, "LOG:  connection received: host={client} port={port}"),
            1 => write!(
                out,
                "LOG:  connection authorized: user={app} database=shop application_name={app}"
            ),
            2 => write!(
                out,
                "LOG:  disconnection: session time: 0:{:02}:{:02}.{:03} user={app} database=shop host={client} port={port}",
                rng.skewed(60, 3.0),
                rng.below(60),
                rng.below(1000)
            ),
            3 => write!(
                out,
                "LOG:  duration: {:.3} ms  statement: SELECT o.id, o.status, o.total_cents FROM orders o WHERE o.user_id = {} ORDER BY o.created_at DESC LIMIT 20",
                250.0 + rng.log_normal(150.0, 0.8),
                rng.range(1, 250_000)
            ),
            4 => write!(out, "LOG:  checkpoint starting: time"),
            5 => write!(
                out,
                "LOG:  checkpoint complete: wrote {} buffers ({:.1}%); 0 WAL file(s) added, 0 removed, {} recycled; write={:.3} s, sync=0.{:03} s, total={:.3} s; sync files={}, longest=0.{:03} s, average=0.{:03} s; distance={} kB, estimate={} kB",
                rng.range(40, 9000),
                rng.uniform() * 6.0,
                rng.below(4),
                rng.uniform() * 270.0,
                rng.below(80),
                rng.uniform() * 270.0,
                rng.range(10, 200),
                rng.below(40),
                rng.below(8),
                rng.range(1000, 90_000),
                rng.range(40_000, 90_000)
            ),
            6 => write!(
                out,
                "LOG:  automatic vacuum of table \"shop.public.{}\": index scans: 1",
                rng.pick(&["orders", "sessions", "carts", "stock", "payments"])
            ),
            _ => write!(
                out,
                "FATAL:  password authentication failed for user \"postgres\""
            ),
        }
    }

    fn redis(&mut self, out: &mut Vec<u8>, rng: &mut Rng, civil: &Civil) -> io::Result<()> {
        const MONTHS: [&str; 12] = [
            "Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec",
        ];
        let month = MONTHS[(civil.month.clamp(1, 12) - 1) as usize];
        write!(
            out,
            "redis-server[1020]: 1020:M {:02} {month} {} {:02}:{:02}:{:02}.{:03} ",
            civil.day,
            civil.year,
            civil.hour,
            civil.minute,
            civil.second,
            civil.nanos / 1_000_000
        )?;
        match rng.below(5) {
            0 => write!(out, "* 100 changes in 300 seconds. Saving..."),
            1 => {
                let pid = self.pid(rng);
                write!(out, "* Background saving started by pid {pid}")
            }
            2 => write!(out, "* DB saved on disk"),
            3 => write!(
                out,
                "* Fork CoW for RDB: current {} MB, peak {} MB, average {} MB",
                rng.range(1, 8),
                rng.range(8, 16),
                rng.range(1, 6)
            ),
            _ => write!(out, "* Background saving terminated with success"),
        }
    }
}

/// Internet noise: a few persistent scanners and a long random tail.
fn attacker_ip(rng: &mut Rng) -> String {
    if rng.chance(400) {
        let known = [
            "218.92.0.112",
            "61.177.172.140",
            "180.101.88.228",
            "194.169.175.36",
            "43.156.236.79",
            "92.118.39.61",
        ];
        return (*rng.pick(&known)).to_owned();
    }
    format!(
        "{}.{}.{}.{}",
        rng.range(1, 224),
        rng.below(256),
        rng.below(256),
        rng.range(1, 255)
    )
}

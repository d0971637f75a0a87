//! Two endpoints joined in memory, the way a socket between them would
//! join them: for tests, benches and in-process connections.

use super::{RecvHalf, SendHalf};
use crate::protocol::Protocol;

impl<P: Protocol> SendHalf<P> {
    /// Hand everything pending (TLS output pulled first) to `to`, in reads
    /// of `to`'s read size, as a socket between the two endpoints would.
    /// Returns the number of bytes moved.
    ///
    /// ```
    /// use netproto_core::StreamProtocol;
    /// use netproto_core::driver::endpoint::{Endpoint, EndpointConfig};
    /// use netproto_core::framing::Delimiter;
    /// use netproto_core::serializer::Utf8;
    ///
    /// let endpoint = || {
    ///     let protocol = StreamProtocol::new(Delimiter::lf(), Utf8);
    ///     let peer = "127.0.0.1:9".parse::<std::net::SocketAddr>().unwrap();
    ///     Endpoint::new(protocol, peer, &EndpointConfig::default()).split()
    /// };
    /// let (_, mut client) = endpoint();
    /// let (mut server, _) = endpoint();
    /// client.push_packet("hello").unwrap();
    /// assert_eq!(client.write_into(&mut server), 6);
    /// assert_eq!(server.next_packet().unwrap().unwrap(), "hello");
    /// ```
    pub fn write_into<Q: Protocol>(&mut self, to: &mut RecvHalf<Q>) -> usize {
        self.pull_tls();
        let mut moved = 0;
        while self.has_pending() {
            let region = to.read_buf();
            let n = region.len().min(self.pending().len());
            region[..n].copy_from_slice(&self.pending()[..n]);
            to.commit(n);
            self.advance(n);
            moved += n;
        }
        moved
    }
}

#[cfg(test)]
mod tests {
    use std::net::SocketAddr;

    use crate::endpoint::{Endpoint, EndpointConfig};
    use crate::framing::LengthPrefix;
    use crate::protocol::StreamProtocol;
    use crate::serializer::BytesSerializer;

    #[test]
    fn moves_everything_in_reads_of_the_receivers_size() {
        let peer: SocketAddr = "192.0.2.1:1".parse().unwrap();
        let protocol = || StreamProtocol::new(LengthPrefix::u32_be(), BytesSerializer);
        let config = EndpointConfig::default().max_recv_size(1024);
        let (_, mut send) = Endpoint::new(protocol(), peer, &config).split();
        let (mut recv, _) = Endpoint::new(protocol(), peer, &config).split();
        let packets: Vec<Vec<u8>> = (0..5u8).map(|i| vec![i; 3000 * usize::from(i)]).collect();
        for packet in &packets {
            send.push_packet(packet).unwrap();
        }
        let wire: usize = packets.iter().map(|p| 4 + p.len()).sum();
        assert_eq!(send.write_into(&mut recv), wire);
        assert!(!send.has_pending());
        for packet in &packets {
            assert_eq!(recv.next_packet().unwrap().unwrap(), packet[..]);
        }
        assert!(recv.next_packet().is_none());
        assert_eq!(send.write_into(&mut recv), 0, "nothing left to move");
    }
}

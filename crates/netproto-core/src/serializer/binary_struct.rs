//! Fixed-layout binary structs, without `unsafe`.

use std::fmt;
use std::marker::PhantomData;

use bytes::{BufMut, Bytes, BytesMut};

use super::{Serializer, parse_frame};
use crate::error::{DeserializeError, EncodeError};
use crate::framing::{FixedSize, Frame};
use crate::protocol::StreamProtocol;

#[doc(hidden)]
pub use bytes as __bytes;

/// The order of bytes inside multi-byte numbers.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash)]
pub enum ByteOrder {
    /// Most significant byte first (network order, Python's `>` and `!`).
    #[default]
    Big,
    /// Least significant byte first (Python's `<`; x86 and most ARM).
    Little,
}

impl ByteOrder {
    /// Network byte order: big endian.
    pub const NETWORK: ByteOrder = ByteOrder::Big;
    /// The byte order of the machine this code runs on.
    pub const NATIVE: ByteOrder = if cfg!(target_endian = "big") {
        ByteOrder::Big
    } else {
        ByteOrder::Little
    };
}

/// A received struct does not fit its declared layout.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum BinaryStructError {
    /// The frame is not exactly the struct's size.
    #[error("frame of {length} bytes does not match the struct size of {expected}")]
    WrongSize {
        /// Bytes received.
        length: usize,
        /// The struct's size.
        expected: usize,
    },
    /// A field holds a value its type does not accept.
    #[error("invalid field value: {0}")]
    Invalid(String),
}

/// A value with a fixed binary layout: numbers, `bool`, arrays of them, and
/// structs declared with [`binary_struct!`](crate::binary_struct).
///
/// Implement it by hand for a field type of your own (an enum stored as a
/// `u8`, say); [`decode`](BinaryStruct::decode) may refuse a value with
/// [`BinaryStructError::Invalid`].
///
/// ```
/// use bytes::BytesMut;
/// use netproto_core::serializer::{BinaryStruct, ByteOrder};
///
/// let mut dst = BytesMut::new();
/// [1u16, 2].encode(ByteOrder::Little, &mut dst);
/// assert_eq!(&dst[..], b"\x01\x00\x02\x00");
/// assert_eq!(<[u16; 2]>::SIZE, 4);
/// assert_eq!(<[u16; 2]>::decode(ByteOrder::Big, &dst).unwrap(), [256, 512]);
/// ```
pub trait BinaryStruct: Sized {
    /// The encoded size in bytes.
    const SIZE: usize;

    /// Append exactly [`SIZE`](BinaryStruct::SIZE) bytes to `dst`.
    fn encode(&self, order: ByteOrder, dst: &mut BytesMut);

    /// Read a value from `src`, which must be exactly
    /// [`SIZE`](BinaryStruct::SIZE) bytes long (anything else is
    /// [`BinaryStructError::WrongSize`]).
    fn decode(order: ByteOrder, src: &[u8]) -> Result<Self, BinaryStructError>;
}

/// Check that `src` is `expected` bytes long (for [`BinaryStruct::decode`]
/// implementations).
pub fn check_size(src: &[u8], expected: usize) -> Result<(), BinaryStructError> {
    if src.len() == expected {
        Ok(())
    } else {
        Err(BinaryStructError::WrongSize {
            length: src.len(),
            expected,
        })
    }
}

macro_rules! impl_number {
    ($($ty:ty),*) => {$(
        impl BinaryStruct for $ty {
            const SIZE: usize = std::mem::size_of::<$ty>();

            fn encode(&self, order: ByteOrder, dst: &mut BytesMut) {
                match order {
                    ByteOrder::Big => dst.put_slice(&self.to_be_bytes()),
                    ByteOrder::Little => dst.put_slice(&self.to_le_bytes()),
                }
            }

            fn decode(order: ByteOrder, src: &[u8]) -> Result<Self, BinaryStructError> {
                let bytes: [u8; std::mem::size_of::<$ty>()] =
                    src.try_into().map_err(|_| BinaryStructError::WrongSize {
                        length: src.len(),
                        expected: Self::SIZE,
                    })?;
                Ok(match order {
                    ByteOrder::Big => <$ty>::from_be_bytes(bytes),
                    ByteOrder::Little => <$ty>::from_le_bytes(bytes),
                })
            }
        }
    )*};
}

impl_number!(u8, i8, u16, i16, u32, i32, u64, i64, u128, i128, f32, f64);

/// One byte: 0 is `false`, anything else `true` (as C, ctypes and Python's
/// `?` read it); `true` is written as 1.
impl BinaryStruct for bool {
    const SIZE: usize = 1;

    fn encode(&self, _order: ByteOrder, dst: &mut BytesMut) {
        dst.put_u8(u8::from(*self));
    }

    fn decode(_order: ByteOrder, src: &[u8]) -> Result<Self, BinaryStructError> {
        check_size(src, 1)?;
        Ok(src[0] != 0)
    }
}

impl<T: BinaryStruct, const N: usize> BinaryStruct for [T; N] {
    const SIZE: usize = T::SIZE * N;

    fn encode(&self, order: ByteOrder, dst: &mut BytesMut) {
        for item in self {
            item.encode(order, dst);
        }
    }

    fn decode(order: ByteOrder, src: &[u8]) -> Result<Self, BinaryStructError> {
        check_size(src, Self::SIZE)?;
        let items = (0..N)
            .map(|i| T::decode(order, &src[i * T::SIZE..(i + 1) * T::SIZE]))
            .collect::<Result<Vec<T>, _>>()?;
        items.try_into().map_err(|_| BinaryStructError::WrongSize {
            length: src.len(),
            expected: Self::SIZE,
        })
    }
}

/// Declare a struct with a fixed binary layout and implement
/// [`BinaryStruct`](crate::serializer::BinaryStruct) for it.
///
/// Fields are laid out in declaration order with no padding (like Python's
/// `struct` with `<`, `>` or `!`, or a `ctypes` structure whose fields are
/// naturally aligned); add `[u8; N]` fields where a C layout has padding.
/// The byte order is one of `big_endian`, `little_endian`, `network` (big)
/// or `native`; it applies to every field, whatever byte order a
/// serializer is configured with. Field types are numbers, `bool`, arrays,
/// or other `binary_struct!` types.
///
/// The lsst.ts.tcpip `read_into`/`write_from` example, over a
/// [`FixedSize`](crate::framing::FixedSize) framer:
///
/// ```
/// use bytes::BytesMut;
/// use netproto_core::binary_struct;
/// use netproto_core::framing::FrameDecoder;
/// use netproto_core::protocol::Protocol;
/// use netproto_core::serializer::{BinaryStruct, FixedStruct};
///
/// binary_struct! {
///     /// One telemetry sample.
///     #[derive(Clone, Debug, PartialEq)]
///     pub struct Telemetry (big_endian) {
///         pub a_double: f64,
///         pub three_ints: [i64; 3],
///     }
/// }
///
/// assert_eq!(Telemetry::SIZE, 32);
/// let protocol = FixedStruct::<Telemetry>::new().protocol();
/// let sample = Telemetry { a_double: 1.5, three_ints: [1, -2, 3] };
/// let mut wire = BytesMut::new();
/// protocol.encode(&sample, &mut wire).unwrap();
/// assert_eq!(&wire[..8], 1.5f64.to_be_bytes());
/// let frame = protocol.decoder().decode(&mut wire).unwrap().unwrap();
/// assert_eq!(protocol.decode(frame).unwrap(), sample);
/// ```
#[macro_export]
macro_rules! binary_struct {
    (
        $(#[$meta:meta])*
        $vis:vis struct $name:ident ($order:ident) {
            $( $(#[$fmeta:meta])* $fvis:vis $field:ident : $ty:ty ),* $(,)?
        }
    ) => {
        $(#[$meta])*
        $vis struct $name {
            $( $(#[$fmeta])* $fvis $field: $ty, )*
        }

        impl $crate::serializer::BinaryStruct for $name {
            const SIZE: usize = 0 $( + <$ty as $crate::serializer::BinaryStruct>::SIZE )*;

            fn encode(
                &self,
                _order: $crate::serializer::ByteOrder,
                dst: &mut $crate::serializer::__bytes::BytesMut,
            ) {
                let order = $crate::binary_struct!(@order $order);
                $( $crate::serializer::BinaryStruct::encode(&self.$field, order, dst); )*
                let _ = (order, dst);
            }

            fn decode(
                _order: $crate::serializer::ByteOrder,
                src: &[u8],
            ) -> ::std::result::Result<Self, $crate::serializer::BinaryStructError> {
                $crate::serializer::check_size(
                    src,
                    <Self as $crate::serializer::BinaryStruct>::SIZE,
                )?;
                let order = $crate::binary_struct!(@order $order);
                let offset = 0usize;
                $(
                    let end = offset + <$ty as $crate::serializer::BinaryStruct>::SIZE;
                    let $field = <$ty as $crate::serializer::BinaryStruct>::decode(
                        order,
                        &src[offset..end],
                    )?;
                    let offset = end;
                )*
                let _ = (order, offset);
                Ok($name { $( $field, )* })
            }
        }
    };
    (@order big_endian) => { $crate::serializer::ByteOrder::Big };
    (@order network) => { $crate::serializer::ByteOrder::Big };
    (@order little_endian) => { $crate::serializer::ByteOrder::Little };
    (@order native) => { $crate::serializer::ByteOrder::NATIVE };
}

/// Packets as fixed-layout binary values: send and receive `T` (a
/// [`BinaryStruct`]), every frame exactly `T::SIZE` bytes.
///
/// Pair it with a [`FixedSize`] framer of the same size ([`framer`](Self::framer),
/// [`protocol`](Self::protocol)). A frame of another size (from another
/// framer) is a per-packet [`DeserializeError`]. The byte order set here
/// applies to numbers and arrays; a [`binary_struct!`](crate::binary_struct)
/// type always uses its declared order.
///
/// ```
/// use bytes::{Bytes, BytesMut};
/// use netproto_core::serializer::{ByteOrder, FixedStruct, Serializer};
///
/// let s = FixedStruct::<[u32; 2]>::new().byte_order(ByteOrder::Little);
/// let mut wire = BytesMut::new();
/// s.serialize(&[1, 2], &mut wire).unwrap();
/// assert_eq!(&wire[..], b"\x01\0\0\0\x02\0\0\0");
/// assert!(s.deserialize(Bytes::from_static(b"short")).is_err());
/// ```
pub struct FixedStruct<T> {
    order: ByteOrder,
    _type: PhantomData<fn(&T) -> T>,
}

impl<T: BinaryStruct> FixedStruct<T> {
    /// Big-endian (network order) values of type `T`.
    pub const fn new() -> Self {
        FixedStruct {
            order: ByteOrder::Big,
            _type: PhantomData,
        }
    }

    /// Set the byte order of numbers and arrays.
    pub const fn byte_order(mut self, order: ByteOrder) -> Self {
        self.order = order;
        self
    }

    /// The frame size: `T::SIZE`.
    pub const fn size(&self) -> usize {
        T::SIZE
    }

    /// A [`FixedSize`] framer of `T::SIZE` bytes.
    ///
    /// # Panics
    /// If `T::SIZE` is zero.
    pub fn framer(&self) -> FixedSize {
        FixedSize::new(T::SIZE)
    }

    /// This serializer over a [`FixedSize`] framer of `T::SIZE` bytes.
    ///
    /// # Panics
    /// If `T::SIZE` is zero.
    pub fn protocol(self) -> StreamProtocol<FixedSize, Self>
    where
        T: 'static,
    {
        StreamProtocol::new(self.framer(), self)
    }
}

impl<T> Clone for FixedStruct<T> {
    fn clone(&self) -> Self {
        *self
    }
}

impl<T> Copy for FixedStruct<T> {}

impl<T: BinaryStruct> Default for FixedStruct<T> {
    fn default() -> Self {
        FixedStruct::new()
    }
}

impl<T: BinaryStruct> fmt::Debug for FixedStruct<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("FixedStruct")
            .field("size", &T::SIZE)
            .field("order", &self.order)
            .finish()
    }
}

impl<T: BinaryStruct + 'static> Serializer for FixedStruct<T> {
    type Sent = T;
    type Received = T;

    fn serialize(&self, packet: &T, dst: &mut BytesMut) -> Result<(), EncodeError> {
        let start = dst.len();
        packet.encode(self.order, dst);
        let length = dst.len() - start;
        if length == T::SIZE {
            Ok(())
        } else {
            dst.truncate(start);
            Err(EncodeError::WrongSize {
                length,
                expected: T::SIZE,
            })
        }
    }

    fn deserialize(&self, frame: Bytes) -> Result<T, DeserializeError> {
        self.deserialize_frame(Frame::owned(frame))
    }

    fn deserialize_frame(&self, frame: Frame<'_>) -> Result<T, DeserializeError> {
        parse_frame(frame, |bytes| T::decode(self.order, bytes))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    crate::binary_struct! {
        #[derive(Debug, PartialEq, Clone, Copy)]
        pub(crate) struct Inner (little_endian) { a: u16, flag: bool }
    }

    crate::binary_struct! {
        #[derive(Debug, PartialEq)]
        pub(crate) struct Outer (network) {
            pub(crate) inner: [Inner; 2],
            x: i32,
            f: f32,
            wide: u128,
        }
    }

    crate::binary_struct! {
        #[derive(Debug)]
        struct Empty (native) {}
    }

    #[test]
    fn nested_structs_keep_their_own_order() {
        let v = Outer {
            inner: [Inner { a: 1, flag: true }; 2],
            x: -2,
            f: 0.5,
            wide: 7,
        };
        let mut dst = BytesMut::new();
        let s = FixedStruct::<Outer>::new().byte_order(ByteOrder::Little);
        s.serialize(&v, &mut dst).unwrap();
        assert_eq!(Outer::SIZE, 3 * 2 + 4 + 4 + 16);
        assert_eq!(&dst[..10], b"\x01\x00\x01\x01\x00\x01\xff\xff\xff\xfe");
        assert_eq!(s.deserialize(dst.freeze()).unwrap(), v);
        assert_eq!(Empty::SIZE, 0);
        assert!(Empty::decode(ByteOrder::Big, &[]).is_ok());
    }

    #[test]
    fn wrong_sizes_are_per_packet_errors() {
        let s = FixedStruct::<Outer>::new();
        for len in [0, 1, Outer::SIZE - 1, Outer::SIZE + 1] {
            let err = s.deserialize(Bytes::from(vec![0; len])).unwrap_err();
            assert_eq!(err.frame.len(), len);
            assert!(err.to_string().contains("struct size of 30"), "{err}");
        }
    }

    #[test]
    fn bool_reads_any_nonzero_as_true() {
        assert!(bool::decode(ByteOrder::Big, &[2]).unwrap());
        assert!(!bool::decode(ByteOrder::Big, &[0]).unwrap());
    }

    struct Liar;
    impl BinaryStruct for Liar {
        const SIZE: usize = 2;
        fn encode(&self, _: ByteOrder, dst: &mut BytesMut) {
            dst.put_u8(0);
        }
        fn decode(_: ByteOrder, _: &[u8]) -> Result<Self, BinaryStructError> {
            Err(BinaryStructError::Invalid("never".into()))
        }
    }

    #[test]
    fn an_impl_writing_the_wrong_size_is_refused() {
        let mut dst = BytesMut::from(&b"x"[..]);
        let err = FixedStruct::<Liar>::new()
            .serialize(&Liar, &mut dst)
            .unwrap_err();
        assert!(matches!(
            err,
            EncodeError::WrongSize {
                length: 1,
                expected: 2
            }
        ));
        assert_eq!(&dst[..], b"x");
        assert!(<[Liar; 2]>::decode(ByteOrder::Big, &[0; 4]).is_err());
    }
}

namespace ErrorHub.Testing.Batches;

/// <summary>Seeded damage to a valid body, for fuzzing whatever reads it.</summary>
public static class BodyMutations
{
    /// <summary>
    /// One to four edits of a kind that finds decoder bugs: flipped bits, special bytes, format bytes that declare large
    /// lengths or counts, inserted and deleted runs, copies of other parts of the body, cuts.
    /// </summary>
    public static byte[] Mutate(byte[] original, Random random)
    {
        var bytes = original.ToList();
        byte[] interesting = [0x00, 0x7f, 0x80, 0x8f, 0x90, 0x9f, 0xa0, 0xbf, 0xc0, 0xc1, 0xc2, 0xc3, 0xc4, 0xc7, 0xc9, 0xca, 0xcb, 0xcc, 0xcf, 0xd3, 0xd4, 0xd8, 0xd9, 0xdb, 0xdc, 0xdd, 0xde, 0xdf, 0xe0, 0xff];
        byte[] largeLengths = [0xdb, 0xdd, 0xdf, 0xc6, 0xc9, 0xdc, 0xde, 0xda, 0xc5, 0xc8, 0xcf, 0xd3, 0xc7];
        var edits = random.Next(1, 5);
        for (var e = 0; e < edits && bytes.Count > 0; e++)
        {
            var at = random.Next(bytes.Count);
            switch (random.Next(9))
            {
                case 0: bytes[at] ^= (byte)(1 << random.Next(8)); break;
                case 1: bytes[at] = interesting[random.Next(interesting.Length)]; break;
                case 2: bytes.Insert(at, interesting[random.Next(interesting.Length)]); break;
                case 3: bytes.RemoveRange(at, Math.Min(random.Next(1, 9), bytes.Count - at)); break;
                case 4:
                    var from = random.Next(bytes.Count);
                    var slice = bytes.GetRange(from, Math.Min(random.Next(1, 64), bytes.Count - from));
                    bytes.InsertRange(at, slice);
                    break;
                case 5: bytes.RemoveRange(at, bytes.Count - at); break;
                case 6:
                    // A format byte followed by a length or count with its top bit set: 2^31 and more, which a
                    // reader taking 32-bit lengths as signed numbers sees as negative.
                    bytes[at] = largeLengths[random.Next(largeLengths.Length)];
                    if (at + 1 < bytes.Count)
                    {
                        bytes[at + 1] = (byte)(0x80 | random.Next(256));
                    }

                    break;
                case 7:
                    var run = new byte[random.Next(1, 8)];
                    run.AsSpan().Fill(random.Next(2) == 0 ? (byte)0xff : (byte)0x00);
                    bytes.InsertRange(at, run);
                    break;
                default: bytes[at] = (byte)random.Next(256); break;
            }
        }

        return [.. bytes];
    }
}

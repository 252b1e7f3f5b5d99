using System.Buffers.Binary;
using ProtoSwarm.Containers.Runtime.Cgroups;

namespace ProtoSwarm.Tests.Containers.Runtime;

// The cgroup v2 device program: its bytes, its jumps, and what it decides, run here by a small
// interpreter of the instructions it uses (the kernel's own run is DeviceFilterTests).
public sealed class DeviceFilterProgramTests
{
    private const string Prologue =
        "6112000000000000" + // r2 = *(u32 *)(r1 + 0)   access_type
        "54020000ffff0000" + // w2 &= 0xffff            the type
        "6113000000000000" + // r3 = *(u32 *)(r1 + 0)
        "7403000010000000" + // w3 >>= 16               the access
        "6114040000000000" + // r4 = *(u32 *)(r1 + 4)   major
        "6115080000000000";  // r5 = *(u32 *)(r1 + 8)   minor
    private const string Deny = "b700000000000000" + "9500000000000000";

    [Fact]
    public void A_Full_Access_Rule_Compares_Type_Major_Minor_And_Jumps_To_The_Next_Rule()
    {
        var bytes = DeviceFilterProgram.Build([new DeviceRule('c', 1, 3, "rwm")]);

        Assert.Equal(
            Prologue +
            "5502040002000000" + // if r2 != 2 (char) goto +4
            "5504030001000000" + // if r4 != 1 goto +3
            "5505020003000000" + // if r5 != 3 goto +2
            "b700000001000000" + // r0 = 1
            "9500000000000000" + // exit
            Deny,
            Convert.ToHexStringLower(bytes));
    }

    [Fact]
    public void A_Wildcard_Rule_With_Partial_Access_Checks_Only_Type_And_Access()
    {
        var bytes = DeviceFilterProgram.Build([new DeviceRule('b', null, null, "m"), new DeviceRule('a', 10, null, "rw")]);

        Assert.Equal(
            Prologue +
            "5502050001000000" + // if r2 != 1 (block) goto +5
            "bc31000000000000" + // w1 = w3
            "5401000006000000" + // w1 &= ~m (read|write)
            "5501020000000000" + // if r1 != 0 goto +2
            "b700000001000000" + // r0 = 1
            "9500000000000000" + // exit
            "bc31000000000000" + // a: no type check; w1 = w3
            "5401000001000000" + // w1 &= ~rw (mknod)
            "5501030000000000" + // if r1 != 0 goto +3
            "550402000a000000" + // if r4 != 10 goto +2
            "b700000001000000" +
            "9500000000000000" +
            Deny,
            Convert.ToHexStringLower(bytes));
    }

    [Fact]
    public void Every_Jump_Lands_On_The_First_Instruction_Of_The_Next_Rule_Or_On_The_Deny()
    {
        var program = DeviceFilterProgram.Instructions(DeviceRules.Default);
        var starts = new HashSet<int>();
        var at = 6;
        foreach (var rule in DeviceRules.Default)
        {
            starts.Add(at);
            at += DeviceFilterProgram.Instructions([rule]).Count - 8; // without prologue and deny
        }
        starts.Add(at);
        Assert.Equal(program.Count - 2, at);

        for (var i = 0; i < program.Count; i++)
        {
            if (program[i].IsJump)
            {
                Assert.Contains(i + 1 + program[i].Offset, starts);
            }
        }
    }

    [Theory]
    [InlineData('c', 1, 3, "r", true)]       // /dev/null
    [InlineData('c', 1, 3, "rw", true)]
    [InlineData('c', 1, 5, "rw", true)]      // /dev/zero
    [InlineData('c', 1, 7, "w", true)]       // /dev/full
    [InlineData('c', 1, 9, "r", true)]       // /dev/urandom
    [InlineData('c', 5, 0, "rw", true)]      // /dev/tty
    [InlineData('c', 5, 2, "rw", true)]      // /dev/ptmx
    [InlineData('c', 136, 7, "rw", true)]    // /dev/pts/7
    [InlineData('c', 10, 200, "rw", true)]   // /dev/net/tun
    [InlineData('c', 1, 1, "r", false)]      // /dev/mem
    [InlineData('c', 1, 1, "m", true)]       // made, never opened
    [InlineData('b', 7, 0, "m", true)]
    [InlineData('b', 7, 0, "r", false)]      // loop0
    [InlineData('b', 8, 0, "rw", false)]     // sda
    [InlineData('c', 10, 229, "rw", false)]  // /dev/fuse
    [InlineData('c', 4, 0, "w", false)]      // tty0
    [InlineData('c', 136, 0, "rm", true)]
    public void The_Default_Program_Decides_As_Dockers_Rules(char type, int major, int minor, string access, bool allowed)
    {
        var program = DeviceFilterProgram.Build(DeviceRules.Default);

        Assert.Equal(allowed ? 1 : 0, Run(program, type, major, minor, access));
    }

    // The instructions the emitter uses, as the kernel runs them.
    private static long Run(byte[] program, char type, int major, int minor, string access)
    {
        var ctx = new byte[12];
        var acc = (access.Contains('m') ? 1 : 0) | (access.Contains('r') ? 2 : 0) | (access.Contains('w') ? 4 : 0);
        BinaryPrimitives.WriteUInt32LittleEndian(ctx, (uint)((type == 'b' ? 1 : 2) | acc << 16));
        BinaryPrimitives.WriteUInt32LittleEndian(ctx.AsSpan(4), (uint)major);
        BinaryPrimitives.WriteUInt32LittleEndian(ctx.AsSpan(8), (uint)minor);
        var r = new long[11];
        for (var pc = 0; pc < program.Length / 8; pc++)
        {
            var insn = program.AsSpan(pc * 8, 8);
            int dst = insn[1] & 0xF, src = insn[1] >> 4;
            var off = BinaryPrimitives.ReadInt16LittleEndian(insn[2..]);
            var imm = BinaryPrimitives.ReadInt32LittleEndian(insn[4..]);
            switch (insn[0])
            {
                case 0x61: Assert.Equal(1, src); r[dst] = BinaryPrimitives.ReadUInt32LittleEndian(ctx.AsSpan(off)); break;
                case 0x54: r[dst] = (uint)r[dst] & (uint)imm; break;
                case 0x74: r[dst] = (uint)r[dst] >> imm; break;
                case 0xbc: r[dst] = (uint)r[src]; break;
                case 0xb7: r[dst] = imm; break;
                case 0x55: pc += r[dst] != imm ? off : 0; break;
                case 0x95: return r[0];
                default: throw new InvalidOperationException($"opcode {insn[0]:x2} at {pc}");
            }
        }
        throw new InvalidOperationException("ran off the end");
    }
}

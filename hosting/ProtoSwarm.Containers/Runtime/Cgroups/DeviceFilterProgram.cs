using System.Buffers.Binary;

namespace ProtoSwarm.Containers.Runtime.Cgroups;

/// <summary>
/// cgroup v2 has no devices.allow: the kernel asks an eBPF program of type BPF_PROG_TYPE_CGROUP_DEVICE
/// attached to the cgroup instead, once per mknod and per open of a device node. This builds that
/// program from the same rules v1 writes: one block per rule, each ending in "return 1" (allow), and
/// "return 0" (deny, EPERM) after the last. A block's checks jump past its end, to the next rule, on the
/// first field that does not match. Eight instructions a rule at most; no libbpf, no compiler.
/// </summary>
internal static class DeviceFilterProgram
{
    // struct bpf_cgroup_dev_ctx { u32 access_type; u32 major; u32 minor; }, access_type = type | access << 16.
    private const short AccessTypeOffset = 0, MajorOffset = 4, MinorOffset = 8;

    public const int DevBlock = 1, DevChar = 2;                 // BPF_DEVCG_DEV_*
    public const int AccMknod = 1, AccRead = 2, AccWrite = 4;   // BPF_DEVCG_ACC_*

    // Opcodes: class | operation | source (K: the immediate, X: a register).
    internal const byte LdxMemW = 0x61;     // BPF_LDX | BPF_MEM | BPF_W
    internal const byte Alu32AndK = 0x54;   // BPF_ALU | BPF_AND | BPF_K
    internal const byte Alu32RshK = 0x74;   // BPF_ALU | BPF_RSH | BPF_K
    internal const byte Alu32MovX = 0xbc;   // BPF_ALU | BPF_MOV | BPF_X
    internal const byte Alu64MovK = 0xb7;   // BPF_ALU64 | BPF_MOV | BPF_K
    internal const byte JneK = 0x55;        // BPF_JMP | BPF_JNE | BPF_K
    internal const byte Exit = 0x95;        // BPF_JMP | BPF_EXIT

    // R1 holds the context on entry; the fields go to R2 (type), R3 (access), R4 (major), R5 (minor), and
    // R1 is free for the access check after that. R0 is the return value.
    private const byte Ctx = 1, Type = 2, Access = 3, Major = 4, Minor = 5, Scratch = 1, Result = 0;

    /// <summary>One eBPF instruction: struct bpf_insn { u8 code; u8 dst:4, src:4; s16 off; s32 imm; }.</summary>
    internal readonly record struct Instruction(byte Code, byte Dst, byte Src, short Offset, int Imm)
    {
        public bool IsJump => Code == JneK;
    }

    /// <summary>The program's bytes, 8 an instruction, as BPF_PROG_LOAD takes them.</summary>
    public static byte[] Build(IEnumerable<DeviceRule> rules) => Encode(Instructions(rules));

    internal static List<Instruction> Instructions(IEnumerable<DeviceRule> rules)
    {
        var program = new List<Instruction>
        {
            new(LdxMemW, Type, Ctx, AccessTypeOffset, 0),
            new(Alu32AndK, Type, 0, 0, 0xFFFF),
            new(LdxMemW, Access, Ctx, AccessTypeOffset, 0),
            new(Alu32RshK, Access, 0, 0, 16),
            new(LdxMemW, Major, Ctx, MajorOffset, 0),
            new(LdxMemW, Minor, Ctx, MinorOffset, 0),
        };
        foreach (var rule in rules)
        {
            program.AddRange(Block(rule));
        }
        program.Add(new(Alu64MovK, Result, 0, 0, 0));
        program.Add(new(Exit, 0, 0, 0, 0));
        return program;
    }

    private static List<Instruction> Block(DeviceRule rule)
    {
        var block = new List<Instruction>();
        var type = rule.Type switch
        {
            'c' => DevChar,
            'b' => DevBlock,
            'a' => 0,
            _ => throw new ArgumentException($"device rule \"{rule}\": the type is c, b or a", nameof(rule)),
        };
        if (type != 0)
        {
            block.Add(new(JneK, Type, 0, 0, type));
        }
        var allowed = AccessMask(rule);
        if (allowed != (AccMknod | AccRead | AccWrite))
        {
            // Asked for anything the rule does not give: not this rule.
            block.Add(new(Alu32MovX, Scratch, Access, 0, 0));
            block.Add(new(Alu32AndK, Scratch, 0, 0, ~allowed & (AccMknod | AccRead | AccWrite)));
            block.Add(new(JneK, Scratch, 0, 0, 0));
        }
        if (rule.Major is { } major)
        {
            block.Add(new(JneK, Major, 0, 0, major));
        }
        if (rule.Minor is { } minor)
        {
            block.Add(new(JneK, Minor, 0, 0, minor));
        }
        block.Add(new(Alu64MovK, Result, 0, 0, 1));
        block.Add(new(Exit, 0, 0, 0, 0));

        // A jump's offset counts the instructions after it; every one here lands on the next block.
        for (var i = 0; i < block.Count; i++)
        {
            if (block[i].IsJump)
            {
                block[i] = block[i] with { Offset = (short)(block.Count - 1 - i) };
            }
        }
        return block;
    }

    private static int AccessMask(DeviceRule rule)
    {
        var mask = 0;
        foreach (var letter in rule.Access)
        {
            mask |= letter switch
            {
                'r' => AccRead,
                'w' => AccWrite,
                'm' => AccMknod,
                _ => throw new ArgumentException($"device rule \"{rule}\": the access is letters of rwm", nameof(rule)),
            };
        }
        return mask == 0 ? throw new ArgumentException($"device rule \"{rule}\": no access", nameof(rule)) : mask;
    }

    private static byte[] Encode(List<Instruction> program)
    {
        var bytes = new byte[program.Count * 8];
        for (var i = 0; i < program.Count; i++)
        {
            var insn = program[i];
            var at = bytes.AsSpan(i * 8, 8);
            at[0] = insn.Code;
            at[1] = (byte)((insn.Src << 4) | insn.Dst);
            BinaryPrimitives.WriteInt16LittleEndian(at[2..], insn.Offset);
            BinaryPrimitives.WriteInt32LittleEndian(at[4..], insn.Imm);
        }
        return bytes;
    }
}

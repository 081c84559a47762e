using Worker.Audit;
using Worker.Contracts;
using Worker.Persistence;

namespace Worker.Tests.Audit;

public class AuditTextTests
{
    [Fact]
    public void Prompt_json_is_canonical_compact_and_keeps_non_ascii_readable()
    {
        var json = AuditText.PromptJson([new ChatMessage("user", "Ça va? \"quoted\"\nnew line")]);

        Assert.Equal("""[{"role":"user","content":"Ça va? \"quoted\"\nnew line"}]""", json);
    }

    [Fact]
    public void Sha256_is_lower_case_hex_of_the_utf8_bytes()
    {
        // sha256("abc"), the FIPS 180-2 test vector.
        Assert.Equal("ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad", AuditText.Sha256Hex("abc"));
    }

    [Theory]
    [InlineData("a\0b", int.MaxValue, "a\uFFFDb")]
    [InlineData("abcdef", 3, "abc")]
    [InlineData("ab\uD83D\uDE00", 3, "ab")]
    public void Clean_makes_text_storable(string input, int maxLength, string expected)
    {
        Assert.Equal(expected, AuditText.Clean(input, maxLength));
    }

    [Fact]
    public void Clean_replaces_a_lone_surrogate()
    {
        // Built at run time: an attribute argument cannot carry a lone surrogate.
        var lone = "lone " + (char)0xD800 + " surrogate";

        Assert.Equal("lone \uFFFD surrogate", AuditText.Clean(lone));
    }

    [Fact]
    public void Metadata_round_trips_through_its_json_converter()
    {
        var metadata = new Dictionary<string, string> { ["tenant"] = "acme", ["lead"] = "42" };

        var json = MetadataJson.Write(metadata);

        Assert.Equal("""{"tenant":"acme","lead":"42"}""", json);
        Assert.Equal(metadata, MetadataJson.Read(json));
    }
}

using Worker.DeadLetters;

namespace Worker.Tests.DeadLetters;

public class DeadLetterGroupsTests
{
    [Fact]
    public void The_same_cause_always_gives_the_same_key()
    {
        var key = DeadLetterGroups.Key("providers_exhausted", "server", "openai", "default", null);

        Assert.Equal(key, DeadLetterGroups.Key("providers_exhausted", "server", "openai", "default", null));
        Assert.True(DeadLetterGroups.IsKey(key));
    }

    [Theory]
    [InlineData("providers_exhausted", "server", "openai", "default", null)]
    [InlineData("providers_exhausted", "timeout", "gemini", "default", null)]
    [InlineData("providers_exhausted", "server", "gemini", "other", null)]
    [InlineData("content_blocked", "server", "gemini", "default", null)]
    [InlineData("undeserializable", null, null, null, "MassTransit.SerializationException")]
    [InlineData("undeserializable", null, null, null, "System.Text.Json.JsonReaderException")]
    public void Any_part_of_the_cause_tells_groups_apart(string reason, string? errorClass, string? provider, string? chain, string? exceptionType)
    {
        var reference = DeadLetterGroups.Key("providers_exhausted", "server", "gemini", "default", null);
        Assert.NotEqual(reference, DeadLetterGroups.Key(reason, errorClass, provider, chain, exceptionType));
    }

    [Fact]
    public void Parts_are_separated_so_shifting_text_between_them_changes_the_key()
    {
        Assert.NotEqual(DeadLetterGroups.Key("a", "bc", null, null, null), DeadLetterGroups.Key("ab", "c", null, null, null));
        Assert.NotEqual(DeadLetterGroups.Key("a", null, "b", null, null), DeadLetterGroups.Key("a", "b", null, null, null));
    }

    [Theory]
    [InlineData("0123456789ab", true)]
    [InlineData("0123456789AB", false)]
    [InlineData("0123456789a", false)]
    [InlineData("0123456789abc", false)]
    [InlineData("ghijklmnopqr", false)]
    public void Group_keys_are_twelve_lower_case_hex_characters(string value, bool expected) => Assert.Equal(expected, DeadLetterGroups.IsKey(value));
}

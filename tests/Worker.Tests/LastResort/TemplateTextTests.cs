using Worker.LastResort;

namespace Worker.Tests.LastResort;

/// <summary>Filling a chain's template from the request's metadata.</summary>
public class TemplateTextTests
{
    private static readonly Dictionary<string, string> Metadata = new() { ["name"] = "Ada", ["company"] = "Acme" };

    [Fact]
    public void Placeholders_are_filled_from_the_metadata()
    {
        Assert.Equal("Hi Ada from Acme!", TemplateText.Fill("Hi {name} from {company}!", Metadata));
    }

    [Fact]
    public void A_key_the_metadata_lacks_becomes_the_missing_value_empty_by_default()
    {
        Assert.Equal("Hi , about .", TemplateText.Fill("Hi {name}, about {topic}.", null));
        Assert.Equal("Hi Ada, about your request.", TemplateText.Fill("Hi {name}, about {topic}.", Metadata, "your request"));
    }

    [Fact]
    public void Keys_match_exactly_and_doubled_braces_are_literal()
    {
        Assert.Equal("{name} is Ada, {Name} is ?", TemplateText.Fill("{{name}} is {name}, {{Name}} is {Name}", Metadata, "?"));
        Assert.Equal("a } b", TemplateText.Fill("a }} b", Metadata));
    }

    [Fact]
    public void A_value_is_inserted_as_it_is_and_never_read_as_a_template()
    {
        Assert.Equal("Hi {company}", TemplateText.Fill("Hi {name}", new Dictionary<string, string> { ["name"] = "{company}", ["company"] = "Acme" }));
    }

    [Theory]
    [InlineData("Hi {name", "has a '{' at position 3 that is not closed (write '{{' for a literal brace)")]
    [InlineData("Hi {na{me}", "has a '{' at position 3 that is not closed (write '{{' for a literal brace)")]
    [InlineData("Hi name}", "has a '}' at position 7 that closes no placeholder (write '}}' for a literal brace)")]
    [InlineData("Hi { }", "has an empty placeholder at position 3")]
    public void Lone_braces_and_empty_placeholders_are_problems(string template, string expected) =>
        Assert.Equal(expected, TemplateText.Problem(template));

    [Theory]
    [InlineData("Hi {name}")]
    [InlineData("No placeholder at all")]
    [InlineData("Literal {{braces}} and {name}")]
    public void Well_formed_templates_have_no_problem(string template) => Assert.Null(TemplateText.Problem(template));
}

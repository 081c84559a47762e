using System.Text.Json.Nodes;
using Worker.Simulator.Structured;

namespace Worker.Tests.Simulator;

public sealed class SchemaSampleTests
{
    private static JsonNode Parse(string json) => JsonNode.Parse(json)!;

    [Fact]
    public void Object_gets_every_property_with_its_type_sample()
    {
        var sample = SchemaSample.Of(Parse("""
            {"type":"object","properties":{
              "s":{"type":"string"},"i":{"type":"integer"},"n":{"type":"number"},"b":{"type":"boolean"},
              "e":{"type":"string","enum":["red","green"]},"a":{"type":"array","items":{"type":"integer"}},
              "o":{"type":"object","properties":{"x":{"type":"string"}}},"when":{"type":"string","format":"date-time"}}}
            """));

        Assert.Equal("""{"s":"sample","i":1,"n":1.5,"b":true,"e":"red","a":[1],"o":{"x":"sample"},"when":"2026-01-01T00:00:00Z"}""", sample.ToJsonString());
    }

    [Fact]
    public void Gemini_upper_case_types_are_read_like_json_schema()
    {
        Assert.Equal(ToolSchemas.WeatherSample, SchemaSample.Of(ToolSchemas.GeminiWeather()).ToJsonString());
    }

    [Fact]
    public void Local_refs_nullable_type_lists_and_any_of_are_followed()
    {
        var sample = SchemaSample.Of(Parse("""
            {"type":"object","properties":{
              "item":{"$ref":"#/$defs/Item"},"maybe":{"type":["null","integer"]},"either":{"anyOf":[{"type":"null"},{"type":"boolean"}]}},
             "$defs":{"Item":{"type":"object","properties":{"name":{"type":"string"}}}}}
            """));

        Assert.Equal("""{"item":{"name":"sample"},"maybe":1,"either":true}""", sample.ToJsonString());
    }

    [Fact]
    public void Self_referencing_schema_ends()
    {
        var sample = SchemaSample.Of(Parse("""{"$ref":"#/$defs/Node","$defs":{"Node":{"type":"object","properties":{"child":{"$ref":"#/$defs/Node"}}}}}"""));

        Assert.Contains("child", sample.ToJsonString(), StringComparison.Ordinal);
    }

    [Fact]
    public void No_schema_gives_an_empty_object()
    {
        Assert.Equal("{}", SchemaSample.Of(null).ToJsonString());
    }

    [Fact]
    public void Mismatching_drops_the_first_required_property()
    {
        Assert.Equal("""{"days":1,"units":"celsius"}""", SchemaSample.Mismatching(ToolSchemas.Weather()).ToJsonString());
    }

    [Fact]
    public void Mismatching_without_required_properties_breaks_the_first_property_type()
    {
        var sample = SchemaSample.Mismatching(Parse("""{"type":"object","properties":{"name":{"type":"string"},"n":{"type":"integer"}}}"""));

        Assert.Equal("""{"name":0,"n":1}""", sample.ToJsonString());
    }

    [Fact]
    public void Without_required_keeps_only_the_optional_properties()
    {
        Assert.Equal("""{"units":"celsius"}""", SchemaSample.WithoutRequired(ToolSchemas.Weather()).ToJsonString());
    }
}

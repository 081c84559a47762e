using Microsoft.Extensions.Options;
using Worker.Contracts;
using Worker.Structured;

namespace Worker.Tests.Structured;

public class CapabilityTableTests
{
    private static CapabilityTable Table(CapabilitiesOptions? options = null) => new(Options.Create(options ?? []));

    private static CompletionRequested Request(string text = "hi", int? maxOutput = null, IReadOnlyList<ToolDefinition>? tools = null,
        ResponseFormat? format = null, ToolChoice? choice = null) =>
        new(Guid.NewGuid(), null, [new ChatMessage("user", text)], MaxOutputTokens: maxOutput, Tools: tools, ToolChoice: choice, ResponseFormat: format);

    private static readonly ToolDefinition[] OneTool = [new("look_up_lead")];

    [Fact]
    public void Well_known_families_have_built_in_figures_and_the_longest_prefix_wins()
    {
        var table = Table();

        Assert.Equal(1_048_576, table.For("gemini-2.5-flash").ContextWindow);
        Assert.Equal(8_192, table.For("gemini-2.0-flash-lite").MaxOutputTokens);
        Assert.Equal(200_000, table.For("claude-sonnet-4-5").ContextWindow);
        // OpenRouter's vendor prefix and Gemini's resource name are looked through.
        Assert.Equal(128_000, table.For("openai/gpt-4o-mini").ContextWindow);
        Assert.Equal(65_536, table.For("models/gemini-2.5-pro").MaxOutputTokens);
    }

    [Fact]
    public void An_unknown_model_refuses_nothing()
    {
        var table = Table();

        Assert.Equal(new ModelCapability(null, null, null, null, null), table.For("my-local-model"));
        Assert.Null(table.Refusal("my-local-model", Request(new string('x', 10_000_000), tools: OneTool)));
    }

    [Fact]
    public void Configuration_replaces_only_the_fields_it_sets_and_a_colon_is_written_as_underscore()
    {
        var table = Table(new CapabilitiesOptions
        {
            ["gpt-4o-mini"] = new CapabilityOptions { ContextWindow = 1_000 },
            ["llama3.1_8b"] = new CapabilityOptions { Tools = false },
        });

        Assert.Equal(new ModelCapability(true, true, true, 1_000, 16_384), table.For("gpt-4o-mini"));
        Assert.False(table.For("llama3.1:8b").Tools);
    }

    [Fact]
    public void A_model_without_tools_refuses_a_request_that_offers_or_carries_them_but_not_one_that_switches_them_off()
    {
        var table = Table(new CapabilitiesOptions { ["small"] = new CapabilityOptions { Tools = false } });
        var toolTurn = new CompletionRequested(Guid.NewGuid(), null,
        [
            new ChatMessage("user", "hi"),
            new ChatMessage("assistant", null, [new ToolCall("c1", "look_up_lead", System.Text.Json.JsonDocument.Parse("{}").RootElement)]),
            new ChatMessage("tool", "{}", ToolCallId: "c1"),
        ], Tools: OneTool, ToolChoice: ToolChoice.None);

        Assert.Equal(CapabilityTable.NoToolSupport, table.Refusal("small", Request(tools: OneTool)));
        Assert.Equal(CapabilityTable.NoToolSupport, table.Refusal("small", toolTurn));
        Assert.Null(table.Refusal("small", Request(tools: OneTool, choice: ToolChoice.None)));
        Assert.Null(table.Refusal("small", Request()));
    }

    [Fact]
    public void A_model_without_json_schema_refuses_json_schema_but_not_plain_json()
    {
        var table = Table();
        var schema = System.Text.Json.JsonDocument.Parse("""{"type": "object"}""").RootElement;

        Assert.Equal(CapabilityTable.NoJsonSchemaSupport, table.Refusal("gpt-3.5-turbo", Request(format: new ResponseFormat("json_schema", "x", schema))));
        Assert.Null(table.Refusal("gpt-3.5-turbo", Request(format: new ResponseFormat("json"))));
    }

    [Fact]
    public void A_prompt_and_output_over_the_window_are_refused_with_the_figures()
    {
        var table = Table(new CapabilitiesOptions { ["tiny"] = new CapabilityOptions { ContextWindow = 100, MaxOutputTokens = 50 } });

        // 300 characters: about 76 prompt tokens; with 50 output tokens (1,000 asked, capped at the model's 50) it passes 100.
        var refusal = table.Refusal("tiny", Request(new string('x', 300), maxOutput: 1_000));

        Assert.StartsWith(CapabilityTable.ContextWindowSkip, refusal);
        Assert.Contains("76 prompt + 50 output tokens, window 100", refusal);
        Assert.Null(table.Refusal("tiny", Request(new string('x', 80), maxOutput: 1_000)));
    }

    [Fact]
    public void MaxOutputFor_lowers_a_request_to_what_the_model_can_write()
    {
        var table = Table();

        Assert.Equal(8_192, table.For("gemini-2.0-flash").MaxOutputTokens);
        Assert.Equal(8_192, table.MaxOutputFor("gemini-2.0-flash", 20_000));
        Assert.Equal(500, table.MaxOutputFor("gemini-2.0-flash", 500));
        Assert.Null(table.MaxOutputFor("gemini-2.0-flash", null));
        Assert.Equal(20_000, table.MaxOutputFor("my-local-model", 20_000));
    }

    [Fact]
    public void Bad_figures_are_refused_at_start_naming_the_key()
    {
        var result = new CapabilitiesOptionsValidator().Validate(null, new CapabilitiesOptions
        {
            ["m"] = new CapabilityOptions { ContextWindow = 0, MaxOutputTokens = -1 },
        });

        Assert.True(result.Failed);
        Assert.Contains("Capabilities:m:ContextWindow must be 1 or more, was 0", result.FailureMessage);
        Assert.Contains("Capabilities:m:MaxOutputTokens must be 1 or more, was -1", result.FailureMessage);
    }
}

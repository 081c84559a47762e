using Worker.Ops;

namespace Worker.Tests.Ops;

public class OpsKeyTests
{
    private const string Key = "0123456789abcdef-ops-key";

    [Theory]
    [InlineData(null)]
    [InlineData("")]
    [InlineData("   ")]
    public void Without_a_configured_key_every_call_is_refused_as_disabled(string? configured)
    {
        var key = new OpsKey(configured);

        Assert.False(key.Enabled);
        Assert.Equal(OpsAccess.Disabled, key.Check(null));
        Assert.Equal(OpsAccess.Disabled, key.Check("Bearer "));
        Assert.Equal(OpsAccess.Disabled, key.Check("Bearer anything"));
    }

    [Theory]
    [InlineData(null)]
    [InlineData("")]
    [InlineData("Bearer")]
    [InlineData("Bearer    ")]
    [InlineData("Basic b3BzOnNlY3JldA==")]
    [InlineData(Key)]
    public void A_call_without_a_bearer_token_is_missing_one(string? authorization) =>
        Assert.Equal(OpsAccess.MissingToken, new OpsKey(Key).Check(authorization));

    [Theory]
    [InlineData("Bearer wrong")]
    [InlineData("Bearer 0123456789abcdef-ops-ke")]
    [InlineData("Bearer 0123456789abcdef-ops-key2")]
    [InlineData("Bearer 0123456789ABCDEF-OPS-KEY")]
    [InlineData("Bearer " + Key + ", Bearer other")]
    public void A_wrong_token_is_refused(string authorization) =>
        Assert.Equal(OpsAccess.WrongToken, new OpsKey(Key).Check(authorization));

    [Theory]
    [InlineData("Bearer " + Key)]
    [InlineData("bearer " + Key)]
    [InlineData("Bearer  " + Key + " ")]
    public void The_key_as_a_bearer_token_is_allowed(string authorization) =>
        Assert.Equal(OpsAccess.Allowed, new OpsKey(Key).Check(authorization));
}

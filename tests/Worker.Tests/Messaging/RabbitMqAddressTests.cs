using Worker.Messaging;

namespace Worker.Tests.Messaging;

/// <summary>ConnectionStrings:RabbitMq carries its credentials; none never silently means guest/guest.</summary>
public class RabbitMqAddressTests
{
    [Fact]
    public void A_uri_with_credentials_is_read_with_its_vhost_and_port()
    {
        var address = RabbitMqAddress.Parse("amqps://worker:p%40ss%3Aword@broker.internal/prod");

        Assert.Equal(new RabbitMqAddress("broker.internal", 5671, "prod", "worker", "p@ss:word", true), address);
        Assert.Equal("amqps://worker@broker.internal:5671/prod", address.ToString());
    }

    [Fact]
    public void Guest_written_out_is_accepted_for_a_development_broker()
    {
        var address = RabbitMqAddress.Parse("amqp://guest:guest@localhost:5672/");

        Assert.Equal(("guest", "guest", "/", (ushort)5672), (address.Username, address.Password, address.VirtualHost, address.Port));
    }

    [Theory]
    [InlineData("amqp://localhost:5672/", "ConnectionStrings:RabbitMq (env ConnectionStrings__RabbitMq) has no user name and password")]
    [InlineData("amqp://rabbit.internal/prod", "ConnectionStrings:RabbitMq (env ConnectionStrings__RabbitMq) has no user name and password")]
    [InlineData("amqp://worker@rabbit.internal/", "ConnectionStrings:RabbitMq (env ConnectionStrings__RabbitMq) has a user name but no password")]
    [InlineData("amqp://worker:@rabbit.internal/", "ConnectionStrings:RabbitMq (env ConnectionStrings__RabbitMq) has a user name but no password")]
    public void A_uri_without_credentials_is_refused_instead_of_becoming_guest(string uri, string expected)
    {
        var e = Assert.Throws<ConfigurationException>(() => RabbitMqAddress.Parse(uri));

        Assert.StartsWith(expected, e.Message);
    }

    [Theory]
    [InlineData("http://worker:s3cret-pw@rabbit.internal/")]
    [InlineData("worker:s3cret-pw@rabbit.internal")]
    public void A_refusal_never_echoes_the_password(string uri)
    {
        var e = Assert.Throws<ConfigurationException>(() => RabbitMqAddress.Parse(uri));

        Assert.Contains("ConnectionStrings:RabbitMq", e.Message);
        Assert.DoesNotContain("s3cret", e.Message);
    }
}

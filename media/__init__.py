"""The aiortc media hub: peers, floor-controlled forwarding and liveness, by opaque ids."""

"""The generator: coordinates, INR layers and layout, the multi-scale INR, the hypernetwork, the Generator, truncation, cost model, conv baseline."""
